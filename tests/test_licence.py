"""The repository's licence: an Apache-2.0 LICENSE file, named by the Space's front matter and the README."""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# SHA-1 of https://www.apache.org/licenses/LICENSE-2.0.txt, the standard text unchanged.
APACHE_2_SHA1 = "2b8b815229aa8a61e483fb4ba0588b8b6c491890"


def front_matter() -> dict[str, str]:
    """The README's YAML front matter (the Space's configuration) as flat key: value pairs."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README.md must open with the Space's front matter"
    block = text[4:text.index("\n---\n", 4)]
    return {k.strip(): v.strip().strip('"') for k, v in (line.split(":", 1) for line in block.splitlines() if ":" in line)}


def test_license_file_is_the_standard_apache_2_text():
    data = (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in data and b"Version 2.0, January 2004" in data
    assert hashlib.sha1(data).hexdigest() == APACHE_2_SHA1, "LICENSE must be the full, unmodified Apache-2.0 text"


def test_space_front_matter_names_the_licence():
    assert front_matter().get("license") == "apache-2.0"


def test_readme_lists_every_models_licence():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Licences"):]
    section = section[:section.index("\n## ", 5)]
    for model, licence in (("BigGAN-deep", "Apache-2.0"), ("StyleGAN2", "Source Code License-NC"),
                           ("GPT-2", "MIT"), ("CLIP", "MIT"), ("mini set", "BSD-3-Clause")):
        row = next((line for line in section.splitlines() if line.startswith("|") and model in line), "")
        assert licence in row, f"the README's licence table should give {model}'s licence ({licence})"
