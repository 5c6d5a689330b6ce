"""docs/benchmarks.md's tables of the source's cost per ACK after the fast paths are what the stored
reports say (docs/data/ack-instructions-fast-paths.json and ack-server-fast-paths.json, from the
commands beside the tables)."""

from __future__ import annotations

from tests.bench.doctables import assert_in_benchmarks, markdown, stored

HEADER = ("before", "after", "after / before")


def render(report: str = "ack-instructions-fast-paths.json") -> str:
    """The instructions table of ``report`` as the document should hold it."""
    rows = [
        (
            f"{row['receivers']:,}",
            f"{row['baseline_instructions_per_ack']:,}",
            f"{row['instructions_per_ack']:,}",
            f"{row['ratio_to_baseline']:.3f}",
        )
        for row in stored(report)["results"]
    ]
    return markdown(("receivers", *HEADER), rows)


def test_the_instructions_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render())


def render_server() -> str:
    """The table of ``bench ack-server`` against the tree before, as the document should hold it."""
    report = stored("ack-server-fast-paths.json")
    after, before = report["cpu_ns_per_ack"], report["baseline"]["cpu_ns_per_ack"]
    fed, saturated = report["bare_recvfrom_into_ns_per_datagram"], report["bare_saturated_ns_per_datagram"]
    rows = [
        ("source CPU per ACK (median of 3)", f"{before:,} ns", f"{after:,} ns", f"{report['ratio_to_baseline']:.3f}")
    ]
    for name, floor in (("the bare loop fed by the blaster", fed), ("the saturated bare loop", saturated)):
        rows.append(
            (f"ratio to {name} ({floor:,} ns per datagram)", f"{before / floor:.2f}", f"{after / floor:.2f}", "")
        )
    return markdown(("figure", *HEADER), rows)


def test_the_ack_server_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render_server())


def render_later_machine() -> str:
    """The table of ``bench ack-server`` on the later machine (no baseline), as the document should hold it."""
    report = stored("ack-server-later-machine.json")
    rows = [
        ("source CPU per ACK (median of 3)", f"{report['cpu_ns_per_ack']:,} ns", ""),
        (
            "the bare loop fed by the blaster",
            f"{report['bare_recvfrom_into_ns_per_datagram']:,} ns",
            f"{report['ratio_to_bare_loop']:.2f}",
        ),
        (
            "the saturated bare loop",
            f"{report['bare_saturated_ns_per_datagram']:,} ns",
            f"{report['ratio_to_saturated_bare_loop']:.2f}",
        ),
        ("the batch reader, saturated", f"{report['batch_reader_saturated_ns_per_datagram']:,} ns", ""),
    ]
    return markdown(("figure", "per ACK or datagram", "source / loop"), rows)


def test_the_later_machines_ack_server_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render_later_machine())


def test_the_batch_loops_instructions_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render("ack-instructions-batch-loop.json"))


def render_batch_loop_runs() -> str:
    """The table of the three paired ``bench ack-server`` runs of the batch loop, as the document holds it."""
    rows = []
    for label, name in (
        ("baef3f2", "ack-server-batch-loop.json"),
        ("02806f8", "ack-server-heap-guard-1.json"),
        ("02806f8, again", "ack-server-heap-guard-2.json"),
    ):
        report = stored(name)
        after, before = report["cpu_ns_per_ack"], report["baseline"]["cpu_ns_per_ack"]
        paired = sorted(
            a["cpu_ns_per_ack"] / b["cpu_ns_per_ack"]
            for a, b in zip(report["runs"], report["baseline"]["runs"], strict=True)
        )
        fed, saturated = report["bare_recvfrom_into_ns_per_datagram"], report["bare_saturated_ns_per_datagram"]
        rows.append(
            (
                label,
                f"{before:,} ns",
                f"{after:,} ns",
                f"{paired[len(paired) // 2]:.2f} ({paired[0]:.2f} to {paired[-1]:.2f})",
                f"{fed:,} ns",
                f"{before / fed:.2f}",
                f"{after / fed:.2f}",
                f"{saturated:,} ns",
                f"{after / saturated:.2f}",
            )
        )
    header = (
        "run", "source CPU per ACK: d2f015e", "this tree", "paired ratio (median, range)", "bare loop, fed",
        "ratio to it: d2f015e", "this tree", "bare loop, saturated", "ratio to it: this tree",
    )  # fmt: skip
    return markdown(header, rows, text_columns=1)


def test_the_batch_loops_ack_server_table_is_the_stored_reports() -> None:
    assert_in_benchmarks(render_batch_loop_runs())


def test_the_compiled_ack_paths_instructions_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render("ack-instructions-mypyc.json"))
