"""Altered copies of the fixtures, as real files come: other column numbering, cut files, wrong
CRS declarations. Each helper writes into a folder it is given (a test's tmp_path), never into
fixtures/."""
from __future__ import annotations

from pathlib import Path


def shift_codes(source: Path, target: Path, label: str = "世帯総数（施設等の世帯を含む）") -> Path:
    """A copy of an e-Stat table numbered as another layout would be: one extra leading value
    column (code …001, ``label``, cells copied from the first value column) and every other column
    code one higher. Same figures, other numbering."""
    lines = source.read_bytes().decode("cp932").split("\r\n")
    head = 7
    out = []
    for number, line in enumerate(lines):
        if not line:
            out.append(line)
            continue
        cells = line.split(",")
        if number == 0:
            table_id = cells[head][:7]
            codes = [f"{table_id}{i:03d}" for i in range(1, len(cells) - head + 2)]
            cells = cells[:head] + codes
        elif number == 1:
            cells = cells[:head] + [label] + cells[head:]
        else:
            cells = cells[:head] + [cells[head]] + cells[head:]
        out.append(",".join(cells))
    target.write_bytes("\r\n".join(out).encode("cp932"))
    return target
