"""Every page script is an esbuild bundle built from a plain ES module in web/src/pages/, and the
agent and supervisor pages share one phone module (web/src/phone.js)."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[3] / "web"
ENTRIES = WEB / "src" / "pages"
SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"\{\{ asset\('([^']+)'\) \}\}\"")


def loaded_scripts() -> dict[str, list[str]]:
    return {
        template.name: SCRIPT.findall(template.read_text(encoding="utf-8"))
        for template in sorted((WEB / "templates").glob("*.html"))
    }


def test_templates_load_only_bundles_of_page_entries() -> None:
    loaded = [src for scripts in loaded_scripts().values() for src in scripts]
    assert loaded, "no script found in the templates"
    for src in loaded:
        assert src.startswith("build/") and src.endswith(".js"), src
        assert (ENTRIES / src.removeprefix("build/")).is_file(), f"{src}: no web/src/pages entry"
    entries = {f"build/{entry.name}" for entry in ENTRIES.glob("*.js")}
    assert entries == set(loaded), "every page entry is loaded by a template, and only those"


def test_the_build_bundles_each_page_entry_into_static_build() -> None:
    build = json.loads((WEB / "package.json").read_text(encoding="utf-8"))["scripts"]["build"]
    assert "esbuild src/pages/*.js --bundle" in build
    assert "--outdir=static/build" in build
    # Sources are ES modules in web/src, never served as loose files next to the bundles.
    assert not (WEB / "static" / "js").exists()


def test_agent_and_supervisor_pages_share_one_phone_module() -> None:
    for page in ("agent.js", "supervise.js"):
        source = (ENTRIES / page).read_text(encoding="utf-8")
        assert 'import { PhonePanel } from "../phone.js";' in source, page
        # the softphone, its badges and the test hook are phone.js's alone
        assert "PbxSoftphone" not in source and "window.pbxSoftphone" not in source, page
        assert "#sip-status" not in source and "#mic-status" not in source, page
    phone = (WEB / "src" / "phone.js").read_text(encoding="utf-8")
    assert 'from "./softphone.js"' in phone and "window.pbxSoftphone = " in phone
