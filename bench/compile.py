"""Compiling a report from N submitters' figures: the .xlsx appendix and the .docx draft.

A province's report gathers about 100 communes (each commune's clerk hands in the commune's
figures); a commune's gathers its officials. The same code compiles both, so this measures it
at N submitters: one obligation with the example plan's CCHC indicators and outline, every
submitter's version 1 with a full set of figures, the unit's nine tasks. Timed: reading the
compilation from the database, writing the .xlsx, writing the .docx; median of `--repeat`.

``.venv/bin/python bench/compile.py --submitters 100 --repeat 5``   (goal: ≤ 5 s in all)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cchc import q1_2024
from bench.common import median, scratch_database, table
from db.figures import Figure, record_figures
from db.migrate import upgrade
from db.models import Obligation, ObligationAssignee, Official, Submission, Task, Unit
from db.names import fold_name
from db.session import make_engine, make_sessionmaker
from handlers.compilation import compile_obligation
from handlers.compiled_docx import write_draft
from handlers.compiled_xlsx import write_appendix

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 11, 1, 0, tzinfo=UTC)


async def build(url: str, submitters: int) -> int:
    """One unit, `submitters` people who handed in with figures; the obligation's id."""
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(12)
    async with sessions() as session, session.begin():
        unit = Unit(code="tinh", name="Sở Nội vụ tỉnh", timezone="Asia/Ho_Chi_Minh")
        session.add(unit)
        await session.flush()
        people = [
            Official(
                unit_id=unit.id,
                key=f"xa-{i}",
                full_name=f"Văn phòng xã số {i}",
                name_folded=fold_name(f"Văn phòng xã số {i}"),
                department=f"Cụm {i % 8}",
                is_clerk=True,
            )
            for i in range(submitters)
        ]
        session.add_all(people)
        obligation = q1_2024(unit.id)
        session.add(obligation)
        session.add_all(
            Task(unit_id=unit.id, code=f"2.{i}", title=f"Nhiệm vụ {i}", detail="",
                 source_ref="", priority=False, active=True)
            for i in range(1, 10)
        )  # fmt: skip
        await session.flush()
        session.add_all(
            ObligationAssignee(obligation_id=obligation.id, official_id=p.id) for p in people
        )
        for person in people:
            submission = Submission(
                unit_id=unit.id,
                obligation_id=obligation.id,
                official_id=person.id,
                version=1,
                submitted_at=NOW,
            )
            session.add(submission)
            await session.flush()
            total = rng.randint(200, 600)
            figures = {
                "hs_truc_tuyen": Figure(Decimal(rng.randint(0, total))),
                "hs_tiep_nhan": Figure(Decimal(total)),
                "hs_tre_han": Figure(Decimal(rng.randint(0, total // 5))),
                "hs_giai_quyet": Figure(Decimal(total)),
                "hs_so_hoa": Figure(Decimal(rng.randint(0, total))),
                "hs_can_so_hoa": Figure(Decimal(total)),
                "kho_khan": Figure(text="Thiếu thiết bị số hóa"),
            }
            await record_figures(session, submission.id, figures, "chat", NOW)
        obligation_id = obligation.id
    await engine.dispose()
    return obligation_id


async def measure(backend: str, submitters: int, repeat: int) -> list[object]:
    """Median seconds of each phase over `repeat` compilations."""
    async with scratch_database(backend) as url:
        obligation_id = await build(url, submitters)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        phases: dict[str, list[float]] = {"read": [], "xlsx": [], "docx": [], "all": []}
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            for i in range(repeat):
                started = time.perf_counter()
                async with sessions() as session:
                    obligation = await session.get(Obligation, obligation_id)
                    assert obligation is not None
                    compilation = await compile_obligation(session, obligation, NOW, TZ)
                read = time.perf_counter()
                write_appendix(compilation, Path(tmp) / f"phu-luc-{i}.xlsx", "vi")
                xlsx = time.perf_counter()
                write_draft(compilation, Path(tmp) / f"du-thao-{i}.docx", "vi")
                done = time.perf_counter()
                phases["read"].append(read - started)
                phases["xlsx"].append(xlsx - read)
                phases["docx"].append(done - xlsx)
                phases["all"].append(done - started)
            assert len(compilation.submitters) == submitters
        await engine.dispose()
    return [backend, submitters, *(median(phases[p]) for p in ("read", "xlsx", "docx", "all"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submitters", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    rows = [asyncio.run(measure(b, args.submitters, args.repeat)) for b in args.backends]
    print(table(["db", "submitters", "read s", "xlsx s", "docx s", "total s"], rows))


if __name__ == "__main__":
    main()
