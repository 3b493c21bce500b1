"""CLI: ``cocoon-econ fetch rates`` and ``cocoon-econ rates`` against loopback servers; exit codes."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from gpuhunt import AcceleratorVendor, CatalogItem
from gpuhunt._internal.storage import CATALOG_V2_FIELDS, item_to_row
from werkzeug import Response

from analysis.cli.main import main
from analysis.core.gpus import CANONICAL_GPUS
from analysis.market.rates import COLUMNS, history_path

DATA = Path(__file__).parent / "data" / "rates"


def _json(name: str):
    return json.loads((DATA / name).read_text())


def test_fetch_vastai_writes_out_and_history(httpserver, isolated_cache, tmp_path, capsys):
    httpserver.expect_request("/api/v0/bundles/").respond_with_json(_json("vastai_bundles.json"))
    out = tmp_path / "vast.csv"
    code = main(["fetch", "rates", "--source", "vastai", "--base-url", httpserver.url_for("/"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "note: vastai:" in captured.err and "Tesla V100" in captured.err
    assert "H100-SXM" in captured.out and "median" in captured.out
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(COLUMNS)
    # the same 8 kept offers as on-demand (marketplace) and as interruptible (spot)
    assert len(rows) == 16 and {r["pricing"] for r in rows} == {"marketplace", "spot"}
    assert history_path(isolated_cache).exists()

    code = main(["rates", "--gpu", "H100-SXM", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["gpu"] == "H100-SXM"
    assert report["history"]["fetched_rows"] == 6 and report["history"]["reference_rows"] > 20
    vast = [p for p in report["providers"] if p["provider"] == "vastai" and p["pricing"] == "marketplace"]
    assert vast and vast[0]["n"] == 3


def test_fetch_azure_and_show(httpserver, isolated_cache, capsys):
    def pager(request):
        skip = int(request.args.get("$skip", "0"))
        return Response((DATA / f"azure_prices_page{skip // 1000 + 1}.json").read_text(),
                        content_type="application/json")
    httpserver.expect_request("/api/retail/prices").respond_with_handler(pager)
    code = main(["fetch", "rates", "--source", "azure", "--gpu", "H200", "--region", "eastus2",
                 "--base-url", httpserver.url_for("/")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "reserved_3y" in captured.out
    assert main(["rates", "--gpu", "h200"]) == 0
    text = capsys.readouterr().out
    assert "hyperscaler reserved" in text and "history:" in text


def test_fetch_gpuhunt_provider(httpserver, isolated_cache, capsys):
    item = CatalogItem(provider="aws", instance_name="p5.48xlarge", location="us-east-1", price=55.04, cpu=192,
                       memory=2048.0, gpu_count=8, gpu_name="H100", gpu_memory=80.0, spot=False, disk_size=None,
                       gpu_vendor=AcceleratorVendor.NVIDIA)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CATALOG_V2_FIELDS)
    writer.writeheader()
    writer.writerow(item_to_row(item))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("aws.csv", text.getvalue())
    httpserver.expect_request("/v3/aws/version").respond_with_data("20260110-77\n")
    httpserver.expect_request("/v3/aws/20260110-77/catalog.zip").respond_with_data(buffer.getvalue())
    code = main(["fetch", "rates", "--source", "gpuhunt", "--provider", "aws", "--gpu", "H100-SXM",
                 "--base-url", httpserver.url_for("/v3")])
    assert code == 0, capsys.readouterr().err
    assert "6.880" in capsys.readouterr().out  # 55.04 / 8


def test_failed_fetch_exits_1_and_leaves_no_history(httpserver, isolated_cache, capsys):
    httpserver.expect_request("/graphql").respond_with_json(
        {"errors": [{"message": "Syntax Error: Expected Name, found <EOF>."}]}, status=400)
    code = main(["fetch", "rates", "--source", "runpod", "--base-url", httpserver.url_for("/")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Syntax Error" in err
    assert not history_path(isolated_cache).exists()


def test_bad_inputs_exit_2_with_one_line(isolated_cache, capsys):
    for argv in (["rates", "--gpu", "H300"], ["fetch", "rates", "--source", "vastai", "--gpu", "K80"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(g in err for g in CANONICAL_GPUS)
    for argv in (["fetch", "rates"], ["fetch", "rates", "--source", "aws"], ["rates"],
                 ["fetch", "rates", "--source", "runpod", "--provider", "aws"],
                 ["fetch", "rates", "--source", "gpuhunt", "--provider", "tensordock", "--base-url", "http://127.0.0.1:9"],
                 ["fetch", "rates", "--source", "vastai", "--base-url", "ftp://example.org"]):
        assert main(argv) == 2, argv
        assert capsys.readouterr().err.count("\n") == 1, argv
