"""CLI dispatcher: help is instant (no torch import) and each command lists its own flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.cli import COMMANDS, main


def test_top_level_help_does_not_import_torch():
    code = (
        "import sys; from api.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\n"
        "assert 'torch' not in sys.modules, 'paperscope --help imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_lists_its_own_flags(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert f"paperscope {command}" in out and "--index" in out


def test_specific_flags_show_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    assert "--format" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--port" in capsys.readouterr().out
    for command in ("search", "author", "recommend", "related", "export"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "{json,bibtex,ris,csv}" in capsys.readouterr().out, command


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("PAPERSCOPE_MAX_K", "lots", "valid integer"),
        ("PAPERSCOPE_PORT", "70000", "less than or equal to 65535"),
        ("PAPERSCOPE_PRECISION", "fp8", "'auto', 'fp32', 'bf16' or 'fp16'"),
        ("PAPERSCOPE_BACKGROUND_NOVELTY", "maybe", "valid boolean"),
    ],
)
def test_a_bad_setting_fails_at_start_up_naming_the_variable(
    variable, value, said, monkeypatch, capsys
):
    monkeypatch.setenv(variable, value)
    assert main(["serve", "--index", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert f"{variable}={value!r}" in err and said in err


def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path):
    """`paperscope stats --json | head -0`: no traceback, the status of a closed pipe."""
    from indexer.store import Store

    Store.create_or_open(tmp_path / "index", "all-MiniLM-L6-v2", 384)
    command = [sys.executable, "-m", "api.cli", "stats", "--index", str(tmp_path / "index")]
    child = subprocess.Popen([*command, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # long before the child, still importing, writes a byte
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141 and b"Traceback" not in err, err.decode()
