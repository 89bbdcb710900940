"""What participants and facilitators type, checked: lengths with messages that say the limit and how
far over it is, the point inside the city, the photo (:mod:`.photos`)."""
from __future__ import annotations

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from karte.layers import lookups
from karte.models import STORAGE_SRID, City, ResourceKind

from . import codes
from .models import (
    ACTIVITY_MAX,
    AVAILABILITY_MAX,
    NAME_MAX,
    NICKNAME_MAX,
    NOTE_MAX,
    PLACE_MAX,
    REASON_MAX,
    VOICE_MAX,
    ContributionType,
    Licence,
    VoiceCategory,
)
from .photos import clean_photo

TOO_LONG = _("%(limit_value)d文字以内で入力してください（今は%(show_value)d文字）。")


def text_field(label, max_length: int, *, required: bool = False, textarea: bool = False) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3, "maxlength": max_length}) if textarea else \
        forms.TextInput(attrs={"maxlength": max_length})
    return forms.CharField(label=label, max_length=max_length, required=required, widget=widget,
                           error_messages={"max_length": TOO_LONG, "required": _("入力してください。")})


class JoinForm(forms.Form):
    code = forms.CharField(label=_("参加コード"), max_length=20, error_messages={"required": _("参加コードを入力してください。")},
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false"}))
    nickname = text_field(_("ニックネーム"), NICKNAME_MAX, required=True)
    show_nickname = forms.BooleanField(label=_("ニックネームを投稿と一緒に公開してよい"), required=False)

    def clean_code(self) -> str:
        code = codes.normalise(self.cleaned_data["code"])
        if not code:
            raise ValidationError(_("参加コードは10文字です（例: ABCDE-FGHJK）。"))
        return code

    def clean_nickname(self) -> str:
        nickname = self.cleaned_data["nickname"].strip()
        if not nickname:
            raise ValidationError(_("入力してください。"))
        return nickname


def resource_kind_choices() -> list[tuple[str, str]]:
    return [("", _("選んでください"))] + [(kind.value, kind.label) for kind in ResourceKind]


class ContributionForm(forms.Form):
    """One contribution: its type, a point (lon/lat, WGS84, from the map) and the fields of its type."""

    type = forms.ChoiceField(label=_("投稿の種類"), choices=ContributionType.choices, widget=forms.RadioSelect,
                             initial=ContributionType.VOICE,
                             error_messages={"required": _("投稿の種類を選んでください。")})
    lon = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-90, max_value=90)
    resource_kind = forms.ChoiceField(label=_("資源の種類"), choices=resource_kind_choices, required=False)
    name = text_field(_("名前"), NAME_MAX)
    note = text_field(_("どんな場所か・メモ"), NOTE_MAX, textarea=True)
    availability = text_field(_("使える時間（例: 平日の午後）"), AVAILABILITY_MAX)
    could_host = forms.BooleanField(label=_("まちのひろばに使えそう"), required=False)
    voice_category = forms.ChoiceField(label=_("声の分類"), choices=[("", _("選んでください"))] + VoiceCategory.choices,
                                       required=False)
    text = text_field(_("声"), VOICE_MAX, textarea=True)
    place = text_field(_("場所"), PLACE_MAX)
    activity = text_field(_("やってみたいこと"), ACTIVITY_MAX, textarea=True)
    photo = forms.FileField(label=_("写真（任意・JPEG/PNG）"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}))

    def __init__(self, *args, city: City, **kwargs):
        self.city = city
        super().__init__(*args, **kwargs)

    def clean_photo(self) -> bytes | None:
        upload = self.cleaned_data.get("photo")
        return clean_photo(upload) if upload else None

    def clean(self) -> dict:
        data = super().clean()
        lon, lat = data.get("lon"), data.get("lat")
        if lon is None or lat is None:
            self.add_error(None, _("地図をタップして、場所に印を置いてください。"))
        else:
            point = Point(lon, lat, srid=4326)
            point.transform(STORAGE_SRID)
            if self.city.geom is None or not self.city.geom.contains(point):
                self.add_error(None, _("地図の印が%(city)sの外にあります。市内の場所をタップしてください。")
                               % {"city": self.city.name_ja})
            data["location"] = point
        kind = data.get("type")
        required = {ContributionType.RESOURCE: ("resource_kind", "name"),
                    ContributionType.VOICE: ("voice_category", "text"),
                    ContributionType.PROPOSAL: ("place", "activity")}.get(kind, ())
        for name in required:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, _("入力してください。"))
        return data

    def values(self) -> dict:
        """What :mod:`.services` stores."""
        data = self.cleaned_data
        return {name: data.get(name) for name in ("type", "location", "resource_kind", "name", "note",
                                                   "availability", "could_host", "voice_category", "text",
                                                   "place", "activity")}

    @classmethod
    def initial_from(cls, contribution) -> dict:
        point = contribution.location.transform(4326, clone=True)
        return {"type": contribution.type, "lon": round(point.x, 7), "lat": round(point.y, 7),
                **{name: getattr(contribution, name) for name in (
                    "resource_kind", "name", "note", "availability", "could_host", "voice_category", "text",
                    "place", "activity")}}


class WorkshopForm(forms.Form):
    district = forms.CharField(label=_("地区"), error_messages={"required": _("地区を選んでください。")})
    title = text_field(_("題名"), 120, required=True)
    held_on = forms.DateField(label=_("開催日"), widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"required": _("開催日を入力してください。"),
                                              "invalid": _("開催日は 2025-03-01 の形で入力してください。")})
    closes_at = forms.DateTimeField(label=_("受付の締切（空欄: 開催日の2週間後）"), required=False,
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    error_messages={"invalid": _("締切は 2025-03-15 18:00 の形で入力してください。")})
    licence = forms.ChoiceField(label=_("投稿のライセンス"), choices=Licence.choices, initial=Licence.CC_BY)

    def clean_district(self):
        district = lookups.districts(codes=[self.cleaned_data["district"]]).first()
        if district is None:
            raise ValidationError(_("その地区はありません。"))
        return district

    def clean_closes_at(self):
        closes_at = self.cleaned_data.get("closes_at")
        if closes_at is not None and closes_at <= timezone.now():
            raise ValidationError(_("締切は今より後にしてください。"))
        return closes_at


class ModerationForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("approve", "reject", "edit", "verify", "unverify")])
    reason = text_field(_("理由"), REASON_MAX)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "edit" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("編集するときは理由を書いてください。"))
        return data
