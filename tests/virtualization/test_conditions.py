"""The conditions table of the detail pages: folded when no condition has anything to say."""
from django.template.loader import render_to_string

FINE = {"type": "Ready", "status": "True", "reason": "Ready", "message": ""}
SAYS = {"type": "AgentReady", "status": "False", "reason": "AgentNotReady", "message": "Failed to connect to VM Agent."}
OURS = {"type": "Ready", "status": "False", "reason": "StorageClassNotFound", "message": ""}


def box(conditions):
    html = render_to_string("includes/conditions.html", {"conditions": conditions})
    return html.split("<details", 1)[1].split(">", 1)[0], " ".join(html.split())


def test_it_folds_conditions_that_say_nothing():
    attributes, html = box([FINE, FINE])
    assert "open" not in attributes and "2 conditions, none with a message" in html


def test_it_opens_when_a_condition_has_a_message_or_words_of_ours():
    assert "open" in box([FINE, SAYS])[0] and "2 conditions, 1 with a message" in box([FINE, SAYS])[1]
    assert "open" in box([OURS])[0]


def test_it_says_when_there_are_none_yet():
    assert "No conditions reported yet." in render_to_string("includes/conditions.html", {"conditions": []})
