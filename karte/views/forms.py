"""Forms of the pages: the siting form (k ひろば sites of some kinds within a walking distance)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from karte.layers import ParameterError, resolve_city, resolve_ward
from karte.models import GATHERING_PLACE_KINDS, City, ResourceKind

SOLVERS = (("greedy", _("貪欲法（速い）")), ("exact", _("厳密解（MILP・HiGHS）")))
WALK_DISTANCE_RANGE = (100, 2000)
K_RANGE = (1, 50)


def candidate_kind_choices() -> list[tuple[str, str]]:
    """Kinds that could become a new ひろば: every kind not already a gathering place."""
    return [(kind.value, kind.label) for kind in ResourceKind if kind not in GATHERING_PLACE_KINDS]


class SitingForm(forms.Form):
    """What ``karte.siting.run_siting`` needs, checked; ``cleaned_data`` holds a City and a Ward
    (None = the whole city) ready for it. ``ward`` (the form's "対象") takes a ward's JIS code, a
    city's JIS code (that whole city, when several are loaded) or nothing (the only / first city)."""

    kinds = forms.MultipleChoiceField(
        choices=candidate_kind_choices, error_messages={
            "required": _("候補とする資源の種類を1つ以上選んでください。"),
            "invalid_choice": _("候補とする資源の種類を1つ以上選んでください。"),
        })
    walk_distance_m = forms.IntegerField(
        min_value=WALK_DISTANCE_RANGE[0], max_value=WALK_DISTANCE_RANGE[1], error_messages={
            "required": _("徒歩距離と箇所数は整数で入力してください。"),
            "invalid": _("徒歩距離と箇所数は整数で入力してください。"),
            "min_value": _("徒歩距離は100〜2000 mの範囲で入力してください。"),
            "max_value": _("徒歩距離は100〜2000 mの範囲で入力してください。"),
        })
    k = forms.IntegerField(
        min_value=K_RANGE[0], max_value=K_RANGE[1], error_messages={
            "required": _("徒歩距離と箇所数は整数で入力してください。"),
            "invalid": _("徒歩距離と箇所数は整数で入力してください。"),
            "min_value": _("箇所数は1〜50の範囲で入力してください。"),
            "max_value": _("箇所数は1〜50の範囲で入力してください。"),
        })
    solver = forms.ChoiceField(choices=SOLVERS, error_messages={"invalid_choice": _("解法を選んでください。"),
                                                                 "required": _("解法を選んでください。")})
    ward = forms.CharField(required=False, max_length=64)

    def clean_ward(self):
        code = (self.cleaned_data.get("ward") or "").strip()
        self.whole_city = resolve_city(code) if code and City.objects.filter(code=code).exists() else None
        if self.whole_city is not None:
            return None
        try:
            return resolve_ward(code or None)
        except ParameterError:
            raise forms.ValidationError(_("その区は見つかりません。")) from None

    def clean(self):
        cleaned = super().clean()
        ward = cleaned.get("ward")
        if ward is not None:
            cleaned["city"] = ward.city
        elif getattr(self, "whole_city", None) is not None:
            cleaned["city"] = self.whole_city
        elif "ward" in cleaned:
            try:
                cleaned["city"] = resolve_city(None, default_first=True)
            except ParameterError:
                raise forms.ValidationError(_("データが読み込まれていません。")) from None
        return cleaned

    def first_error(self) -> str:
        """One message to show above the form: the first field's first error."""
        for errors in self.errors.values():
            return str(errors[0])
        return ""
