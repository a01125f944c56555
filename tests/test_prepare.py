"""datasets.prepare on local archives: verification, layouts and failures that lose nothing."""
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import cv2
import numpy as np
import pytest

from datasets.files import DataError
from datasets.prepare import ARCHIVES, Archive, file_digest, prepare
from tests.conftest import REPO


def _png_bytes(seed, w=16, h=8):
    image = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def _pix2pix_tar(path, splits=(("train", 3), ("val", 2), ("test", 1)), odd=False):
    with tarfile.open(path, "w:gz") as tar:
        for split, count in splits:
            for i in range(1, count + 1):
                data = _png_bytes(i, w=17 if odd else 16)
                info = tarfile.TarInfo(f"facades/{split}/{i}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return str(path)


def _entry(path, kind="pix2pix", algorithm="md5", size=0):
    return Archive("http://example.invalid/x", algorithm, file_digest(path, algorithm), kind,
                   ("val", "test"), size=size)


def test_pix2pix_archive_becomes_the_unpaired_thesis_split(tmp_path):
    archive = _pix2pix_tar(tmp_path / "facades.tar.gz")
    out = tmp_path / "facades"
    counts = prepare(_entry(archive), str(out), archive_file=archive)
    assert counts == {"trainA": 3, "trainB": 3, "testA": 3, "testB": 3}
    assert sorted(os.listdir(out / "testB")) == ["test_1.png", "val_1.png", "val_2.png"]
    a = cv2.imread(str(out / "trainA" / "train_1.jpg"))
    b = cv2.imread(str(out / "trainB" / "train_1.png"))
    original = cv2.imdecode(np.frombuffer(_png_bytes(1), np.uint8), cv2.IMREAD_COLOR)
    assert a.shape == b.shape == (8, 8, 3)
    np.testing.assert_array_equal(b, original[:, 8:])  # labels stay lossless
    assert json.loads((out / "PREPARED.json").read_text())["counts"] == counts
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".prepare-")]


def test_pix2pix_layout_keeps_the_pairs(tmp_path):
    archive = _pix2pix_tar(tmp_path / "f.tar.gz")
    counts = prepare(_entry(archive), str(tmp_path / "p2p"), layout="pix2pix", archive_file=archive)
    assert counts == {"train": 3, "val": 2, "test": 1}


def test_cyclegan_zip_layout(tmp_path):
    path = tmp_path / "facades.zip"
    with zipfile.ZipFile(path, "w") as z:
        for sub, n in (("trainA", 2), ("trainB", 2), ("testA", 1), ("testB", 1)):
            for i in range(n):
                z.writestr(f"facades/{sub}/{i}.png", _png_bytes(i))
    entry = _entry(str(path), kind="cyclegan", algorithm="sha256", size=os.path.getsize(path))
    assert prepare(entry, str(tmp_path / "out"), archive_file=str(path)) == {
        "trainA": 2, "trainB": 2, "testA": 1, "testB": 1}
    with pytest.raises(DataError, match="needs a pix2pix archive"):
        prepare(entry, str(tmp_path / "out2"), layout="pix2pix", archive_file=str(path))


def test_checksum_and_size_mismatches_keep_the_file_and_write_nothing(tmp_path):
    archive = _pix2pix_tar(tmp_path / "f.tar.gz")
    wrong = Archive("http://example.invalid/x", "md5", "0" * 32, "pix2pix", ("val", "test"))
    with pytest.raises(DataError, match=r"f\.tar\.gz: md5 [0-9a-f]{32}, expected 0{32}.*--checksum=md5:"):
        prepare(wrong, str(tmp_path / "out"), archive_file=archive)
    assert os.path.exists(archive) and not os.path.exists(tmp_path / "out")
    # the override the message suggests works
    prepare(wrong, str(tmp_path / "out"), archive_file=archive,
            checksum="md5:" + file_digest(archive, "md5"))
    sized = _entry(archive, size=12)
    with pytest.raises(DataError, match="expected 12"):
        prepare(sized, str(tmp_path / "out3"), archive_file=archive)


def test_bad_archives_and_destinations(tmp_path):
    with pytest.raises(DataError, match="--archive file not found"):
        prepare(ARCHIVES["facades"], str(tmp_path / "o"), archive_file=str(tmp_path / "missing.tar.gz"))
    odd = _pix2pix_tar(tmp_path / "odd.tar.gz", odd=True)
    with pytest.raises(DataError, match=r"odd\.tar\.gz: member facades/train/1\.jpg: width 17 is odd"):
        prepare(_entry(odd), str(tmp_path / "o"), archive_file=odd)
    assert not os.path.exists(tmp_path / "o")
    no_val = _pix2pix_tar(tmp_path / "noval.tar.gz", splits=(("train", 1), ("test", 1)))
    with pytest.raises(DataError, match="lacks val/"):
        prepare(_entry(no_val), str(tmp_path / "o"), archive_file=no_val)
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as z:
        z.writestr("../evil.png", b"x")
    with pytest.raises(DataError, match="unsafe path"):
        prepare(_entry(str(unsafe), kind="cyclegan"), str(tmp_path / "o"), archive_file=str(unsafe))
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    archive = _pix2pix_tar(tmp_path / "f.tar.gz")
    with pytest.raises(DataError, match="already exists"):
        prepare(_entry(archive), str(occupied), archive_file=archive)
    with pytest.raises(DataError, match=r"--out=.*f\.tar\.gz: is a file, not a folder"):
        prepare(_entry(archive), archive, archive_file=archive)
    text = tmp_path / "plain.txt"
    text.write_text("not an archive")
    with pytest.raises(DataError, match="neither a zip nor a tar"):
        prepare(_entry(str(text)), str(tmp_path / "o"), archive_file=str(text))


def test_checksum_overrides_are_checked_and_recorded(tmp_path, monkeypatch):
    archive = _pix2pix_tar(tmp_path / "f.tar.gz")
    for bad, message in (("deadbeef", r"--checksum=deadbeef: expected ALGORITHM:HEX"),
                         ("whirl:00ff", r"unknown hash algorithm 'whirl'"),
                         ("md5:xyz", r"'xyz' is not a hexadecimal digest")):
        with pytest.raises(DataError, match=message):
            prepare(_entry(archive), str(tmp_path / "o"), archive_file=archive, checksum=bad)
    used = "sha256:" + file_digest(archive, "sha256")
    prepare(ARCHIVES["facades"], str(tmp_path / "o"), archive_file=archive, checksum=used)
    record = json.loads((tmp_path / "o" / "PREPARED.json").read_text())
    assert record["sha256"] == used.split(":")[1] and record["checksum_overridden"] is True
    assert "md5" not in record  # not the official checksum, which the file does not have

    def offline(*args, **kwargs):
        import urllib.error
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(DataError, match=r"download failed .*name resolution.*--archive=<file>"):
        prepare(ARCHIVES["facades"], str(tmp_path / "o2"), download_dir=str(tmp_path / "dl"))
    assert not os.listdir(tmp_path / "dl")  # no .part file left behind


def test_an_archive_of_the_wrong_kind_names_what_it_lacks(tmp_path):
    path = tmp_path / "facades.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("facades/trainA/0.png", _png_bytes(0))
    with pytest.raises(DataError, match=r"facades\.zip: not the pix2pix archive .* lacks train/, val/, "
                                         r"test/ \(it holds trainA\)"):
        prepare(_entry(str(path)), str(tmp_path / "o"), archive_file=str(path))
    pix2pix = _pix2pix_tar(tmp_path / "p.tar.gz")
    with pytest.raises(DataError, match=r"not the cyclegan archive .* lacks trainA/"):
        prepare(_entry(pix2pix, kind="cyclegan"), str(tmp_path / "o"), archive_file=pix2pix)


def test_registry_entries_are_complete():
    for name, entry in ARCHIVES.items():
        assert entry.url.startswith("http") and entry.kind in ("pix2pix", "cyclegan"), name
        assert len(entry.digest) == {"md5": 32, "sha256": 64}[entry.algorithm], name
        assert entry.source, name


def test_prepare_cli_reports_a_checksum_mismatch(tmp_path):
    archive = _pix2pix_tar(tmp_path / "facades.tar.gz")
    result = subprocess.run([sys.executable, "-m", "datasets.prepare", "--name=facades",
                             f"--archive={archive}", f"--out={tmp_path / 'out'}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "error:" in result.stderr and "expected e2e25dd517e9d15828416ab329da2854" in result.stderr
