"""Three promises of medsr, checked together on one run of every command over real files.

1. **No patient identifiers leave medsr.** Identifiers (PatientName, PatientID, birth date,
   accession number, institution, referring physician, patient address) are written with pydicom
   into a copy of the real DICOM series of ``../shared/data/medical`` (or of the series shipped
   with medsr); ``medsr info`` (text and JSON), ``medsr upscale --method linear`` (NIfTI, NRRD and
   MetaImage outputs), ``medsr degrade`` and ``medsr metrics`` run on it; every file they write
   (gzip members decompressed), every sidecar, and their stdout/stderr are searched for each
   identifier.
2. **No network at run time.** The commands run in a fresh interpreter whose ``sitecustomize``
   makes every socket connect/sendto, ``getaddrinfo`` and ``create_connection`` record the attempt
   and fail; they must all succeed and the record must stay empty (``medsr train`` too, in a slow
   test). A control process proves that the block is armed (its connection attempt is recorded).
3. **Inputs are never modified.** Every input file's bytes and mtime are compared before and after
   each command (the network ones too: ``upscale --weights``, ``--onnx``, ``export``,
   ``upscale --method self``). Error paths: ``tests/cli/test_cli_errors.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import save_tiny_espcn

SHARED_DICOM = Path(__file__).resolve().parents[2].parent / "shared/data/medical/mr_t1_series_dicom"

#: (DICOM keyword, value written, strings that must appear nowhere in any output)
IDENTIFIERS = [
    ("PatientName", "Quixotte^Dulcinea^Maria", ["Quixotte", "Dulcinea"]),
    ("PatientID", "PID-7402139", ["PID-7402139", "7402139"]),
    ("PatientBirthDate", "19470419", ["19470419", "1947-04-19"]),
    ("AccessionNumber", "ACC88127364", ["ACC88127364", "88127364"]),
    ("InstitutionName", "Saint Zebulon Infirmary", ["Zebulon", "Infirmary"]),
    ("ReferringPhysicianName", "Fakedoc^Hieronymus", ["Fakedoc", "Hieronymus"]),
    ("PatientAddress", "12 Nowhere Lane, Gotham", ["Nowhere Lane", "Gotham"]),
]

SITECUSTOMIZE = '''
"""Installed by medsr's no-network test: every network attempt is recorded, then refused."""
import os
import socket
import traceback

_LOG = os.environ["MEDSR_NET_LOG"]


def _record(what, detail):
    with open(_LOG, "a") as fh:
        fh.write(f"ATTEMPT {what} {detail!r}\\n{''.join(traceback.format_stack(limit=12))}\\n")


def _guard(name, original):
    def guarded(self, *args, **kwargs):
        if self.family == getattr(socket, "AF_UNIX", None):
            return original(self, *args, **kwargs)  # local inter-process pipes are no network
        _record(name, args)
        raise OSError(101, "network access blocked by medsr's no-network test")
    return guarded


def _refuse(name):
    def refused(*args, **kwargs):
        _record(name, args)
        raise socket.gaierror(-3, "network access blocked by medsr's no-network test")
    return refused


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(socket.socket, _name, _guard(_name, getattr(socket.socket, _name)))
socket.getaddrinfo = _refuse("getaddrinfo")
socket.create_connection = _refuse("create_connection")
with open(_LOG, "a") as fh:
    fh.write(f"armed {os.getpid()}\\n")
'''

DRIVER = '''
"""Runs each command line of commands.json with medsr.cli.main (the `medsr` entry point) in this
process; records exit code, stdout, stderr and the input folder's state after each one."""
import contextlib, hashlib, io, json, sys, time
from pathlib import Path

from medsr.cli import main

spec = json.loads(Path(sys.argv[1]).read_text())
inputs = Path(spec["inputs"])


def snapshot():
    return {str(p.relative_to(inputs)): [hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns] for p in sorted(inputs.rglob("*")) if p.is_file()}


results = []
for argv in spec["commands"]:
    out, err, code, start = io.StringIO(), io.StringIO(), 0, time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code or 0
    results.append({"argv": argv, "code": code, "stdout": out.getvalue(),
                    "stderr": err.getvalue(), "inputs": snapshot(),
                    "seconds": time.perf_counter() - start})
Path(sys.argv[2]).write_text(json.dumps(results))
'''


def _phi_series(folder: Path) -> None:
    """Six slices of the real series (else the shipped sample), identifiers written in."""
    import pydicom

    from medsr.data import sample_path

    files = sorted(SHARED_DICOM.glob("*.dcm")) if SHARED_DICOM.is_dir() else []
    files = files[:6] if len(files) >= 6 else sorted(sample_path("dicom").glob("*.dcm"))
    folder.mkdir()
    for src in files:
        ds = pydicom.dcmread(src)
        for keyword, value, _ in IDENTIFIERS:
            setattr(ds, keyword, value)
        ds.save_as(folder / src.name)


def _inputs(root: Path) -> Path:
    import nibabel as nib
    from PIL import Image

    inputs = root / "inputs"
    inputs.mkdir()
    _phi_series(inputs / "dicom_phi")
    rng = np.random.default_rng(0)
    small = (rng.random((10, 9, 5)) * 100).astype(np.float32)
    nib.save(nib.Nifti1Image(small, np.diag([1.0, 1.0, 3.0, 1.0])), inputs / "small.nii.gz")
    Image.fromarray((rng.random((12, 10)) * 255).astype(np.uint8)).save(inputs / "pic.png")
    save_tiny_espcn(inputs / "net")
    return inputs


def _commands(inputs: Path, out: Path) -> list[list[str]]:
    dicom, net = str(inputs / "dicom_phi"), str(inputs / "net" / "model.safetensors")
    up = ["upscale", dicom, "--method", "linear", "--factors", "1,1,2", "-o"]
    return [
        ["info", dicom],
        ["info", dicom, "--json"],
        [*up, str(out / "up.nii.gz")],
        [*up, str(out / "up.nrrd")],
        [*up, str(out / "up.mha")],
        ["degrade", dicom, str(out / "lr.nii.gz"), "-f", "1,1,2"],
        ["metrics", dicom, dicom, "--json"],
        ["upscale", str(inputs / "pic.png"), "--weights", net, "--factors", "2", "-o",
         str(out / "net.png")],
        ["export", "--weights", net, "-o", str(out / "net.onnx")],
        ["upscale", str(inputs / "pic.png"), "--onnx", str(out / "net.onnx"), "--factors", "2",
         "-o", str(out / "onnx.png")],
        ["upscale", str(inputs / "small.nii.gz"), "--method", "self", "--budget", "2",
         "--factors", "1,1,2", "-o", str(out / "self.nii.gz")],
    ]


def _snapshot(root: Path) -> dict[str, list]:
    return {
        str(p.relative_to(root)): [hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns]
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _env(tmp: Path, log: Path) -> dict[str, str]:
    site = tmp / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env.update(MEDSR_NET_LOG=str(log), OMP_NUM_THREADS="1", COLUMNS="100", NO_COLOR="1")
    return env


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every command once, in a fresh interpreter with the network blocked (see module doc)."""
    root = tmp_path_factory.mktemp("guarantees")
    inputs = _inputs(root)
    out = root / "work"
    out.mkdir()
    before = _snapshot(inputs)
    commands = _commands(inputs, out)
    (root / "commands.json").write_text(json.dumps({"inputs": str(inputs), "commands": commands}))
    (root / "driver.py").write_text(DRIVER)
    log = root / "network.log"
    driver = [str(root / name) for name in ("driver.py", "commands.json", "r.json")]
    proc = subprocess.run(
        [sys.executable, *driver],
        check=False,
        capture_output=True,
        text=True,
        env=_env(root, log),
        cwd=out,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {
        "root": root,
        "out": out,
        "before": before,
        "results": json.loads((root / "r.json").read_text()),
        "process": proc,
        "log": log,
    }


def _describe(result: dict) -> str:
    return f"medsr {' '.join(result['argv'])} -> {result['code']}\n{result['stderr'][-2000:]}"


def test_every_command_succeeds_without_network(guarded_run: dict) -> None:
    print({" ".join(r["argv"][:2]): round(r["seconds"], 1) for r in guarded_run["results"]})
    for result in guarded_run["results"]:
        assert result["code"] == 0, _describe(result)
    log = guarded_run["log"].read_text()
    assert log.startswith("armed "), "the network block was not installed"
    assert "ATTEMPT" not in log, log[:3000]


def test_the_network_block_is_armed(tmp_path: Path) -> None:
    """Control: the same sitecustomize does catch a connection attempt."""
    log = tmp_path / "network.log"
    probe = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n" \
        "except OSError as exc:\n    print('refused', exc)\n"  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        capture_output=True,
        text=True,
        env=_env(tmp_path, log),
    )
    assert "refused" in proc.stdout and "ATTEMPT create_connection" in log.read_text()


def _texts(path: Path) -> list[str]:
    """The bytes of a file as text (latin-1), gzip members decompressed too."""
    blob = path.read_bytes()
    texts = [blob.decode("latin-1")]
    if blob[:2] == b"\x1f\x8b":
        texts.append(gzip.decompress(blob).decode("latin-1"))
    return texts


def test_no_patient_identifier_in_any_output_sidecar_or_message(guarded_run: dict) -> None:
    out: Path = guarded_run["out"]
    written = [p for p in sorted(out.rglob("*")) if p.is_file()]
    names = {p.name for p in written}
    # the commands did write what is searched (outputs and their sidecars)
    for name in ("up.nii.gz", "up.nii.gz.json", "up.nrrd", "up.mha", "lr.nii.gz"):
        assert name in names, sorted(names)
    haystacks = {str(p.relative_to(out)): t for p in written for t in _texts(p)}
    for result in guarded_run["results"]:
        haystacks[f"stdout of {' '.join(result['argv'][:2])}"] = result["stdout"]
        haystacks[f"stderr of {' '.join(result['argv'][:2])}"] = result["stderr"]
    haystacks["process stdout"] = guarded_run["process"].stdout
    haystacks["process stderr"] = guarded_run["process"].stderr
    # the information is there (the series' grid), only the identity is not
    assert "512" in guarded_run["results"][1]["stdout"]
    for where, text in haystacks.items():
        text = text.lower()
        for keyword, _, needles in IDENTIFIERS:
            for needle in needles:
                assert needle.lower() not in text, f"{keyword} ({needle}) found in {where}"


def test_inputs_unchanged_after_each_command(guarded_run: dict) -> None:
    before = guarded_run["before"]
    assert sum(k.startswith("dicom_phi/") for k in before) >= 6 and "net/model.json" in before
    for result in guarded_run["results"]:
        assert result["inputs"] == before, f"inputs changed by {_describe(result)}"


def test_identifiers_were_really_in_the_input(guarded_run: dict) -> None:
    """The search above cannot pass vacuously: the series holds every identifier."""
    import pydicom

    folder = guarded_run["root"] / "inputs" / "dicom_phi"
    ds = pydicom.dcmread(next(folder.iterdir()))
    for keyword, value, _ in IDENTIFIERS:
        assert str(ds.data_element(keyword).value) == value


@pytest.mark.slow
def test_training_runs_without_network(
    tmp_path: Path, tiny_run_config: Callable[[Path, Path], dict[str, Any]]
) -> None:
    """``medsr train`` (Lightning, TensorBoard, CSV logs) needs no network either: a 4-step run of
    a tiny SRCNN on real-sized synthetic 8-bit pictures, sockets blocked as above."""
    import yaml
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        grid = np.add.outer(np.arange(64), np.arange(64)) * (i + 1)
        pic = (grid % 255 + rng.normal(0, 4, (64, 64))).clip(0, 255).astype(np.uint8)
        Image.fromarray(pic).save(images / f"p{i}.png")
    config = {**tiny_run_config(images, tmp_path / "run"), "name": "offline"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "network.log"
    proc = subprocess.run(
        [sys.executable, "-m", "medsr", "train", str(tmp_path / "c.yaml")],
        check=False,
        capture_output=True,
        text=True,
        env=_env(tmp_path, log),
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "model.safetensors").is_file()
    text = log.read_text()
    assert text.startswith("armed ") and "ATTEMPT" not in text, text[:3000]
