"""The templates stay readable: no line over 160 characters (break long ones between attributes or tags), and no
{# comment #} that spans lines (Django prints those on the page: use {% comment %})."""
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LIMIT = 160


def long_lines(root):
    for path in sorted(root.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if len(line) > LIMIT:
                yield f"{path.relative_to(root)}:{number} ({len(line)} characters)"


def test_it_keeps_every_template_line_under_160_characters():
    assert list(TEMPLATES.rglob("*.html")), f"no templates found under {TEMPLATES}"
    too_long = list(long_lines(TEMPLATES))
    assert not too_long, "template lines over 160 characters:\n" + "\n".join(too_long)


def test_it_has_no_comment_tag_spanning_lines():
    """Django's {# #} ends at its line's end: one left open is printed on the page as text."""
    open_comments = [f"{path.relative_to(TEMPLATES)}:{number}" for path in sorted(TEMPLATES.rglob("*.html"))
                     for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                     if line.count("{#") > line.count("#}")]
    assert not open_comments, "comments that span lines:\n" + "\n".join(open_comments)
