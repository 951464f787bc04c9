"""The layout every dataset uses, `<root>/<class>/<file>`, read once for videos and images alike."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

from toolkit.errors import DatasetError


@dataclasses.dataclass
class ClassFolders:
    """Files per class of a `<root>/<class>/<file>` folder.

    Attributes:
        root: the folder.
        files: {class: sorted files with one of the extensions}.
        empty_classes: class folders holding no such file (left out; say so).
    """

    root: Path
    files: dict[str, list[Path]]
    empty_classes: list[str]

    def notes(self, kind: str) -> list[str]:
        """What a user should be told about the layout: empty class folders, by name."""
        return [f"class folder '{self.root / name}' holds no {kind}; the class is left out"
                for name in self.empty_classes]


def scan_class_folders(root: str | os.PathLike, extensions: Sequence[str], kind: str) -> ClassFolders:
    """Files with `extensions` in the class folders of `root` (hidden folders skipped).

    Raises:
        DatasetError: `root` is missing, or no class folder holds a file; the
            message shows the expected layout and notices files lying directly
            in `root`.
    """
    root = Path(root)
    example = f"{root}/squat/{'clip1.mp4' if kind == 'videos' else 'img001.jpg'}"
    layout = f"expected one folder per class holding the {kind}, e.g. {example} (extensions {', '.join(extensions)})"
    if not root.is_dir():
        raise DatasetError(f"Folder not found: '{root}'; {layout}.")
    files, empty = {}, []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in extensions)
        if found:
            files[class_dir.name] = found
        else:
            empty.append(class_dir.name)
    if not files:
        loose = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in extensions]
        hint = f" Found {kind} directly in the folder ({', '.join(loose[:3])}...): move them into class folders." \
            if loose else ""
        raise DatasetError(f"No {kind} found in class folders of '{root}'; {layout}.{hint}")
    return ClassFolders(root, files, empty)
