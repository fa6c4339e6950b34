"""The Content-Security-Policy is enforced on every page and no page breaks it.

The browser walks every page it can reach by links from the project list (as a project's owner,
with a running VM so its serial console and VNC pages connect), plus the login page, and records
every `securitypolicyviolation` event and every console message about the policy.
"""
from urllib.parse import urljoin, urlsplit

import pytest

from tests.kube import PROJECT_A, delete_vm, guest_vm

pytestmark = pytest.mark.browser

VM = "e2e-csp-vm"
MAX_PAGES = 300
SKIP = ("/logout/", "/static/", "/ws/")
RECORD_VIOLATIONS = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""
LINKS = "() => Array.from(document.querySelectorAll('a[href]'), (a) => a.getAttribute('href'))"


@pytest.fixture(scope="module")
def running_vm(sim):
    guest_vm(sim, PROJECT_A, VM)
    yield VM
    delete_vm(sim, PROJECT_A, VM)


def shape(path):
    """Pages that differ only by the object's name look alike: one of each is enough."""
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "projects":
        parts[3] = "*"
    return "/".join(parts)


def visit(page, path, violations):
    response = page.goto(path)
    page.wait_for_load_state("load")
    page.wait_for_timeout(250)  # htmx swaps, live sockets and consoles start after load
    for violation in page.evaluate("window.__cspViolations"):
        violations.append(f"{path}: {violation}")
    return response


def test_it_enforces_the_policy_on_every_page_without_a_violation(page, log_in, running_vm, console_url):
    messages = []
    page.on("console", lambda message: messages.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)
    page.context.add_init_script(RECORD_VIOLATIONS)
    violations = []

    response = visit(page, "/login/", violations)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "content-security-policy-report-only" not in response.headers

    log_in("alice")
    vm_pages = [f"/projects/{PROJECT_A}/vms/{running_vm}/{tab}" for tab in ("", "tty/", "vnc/")]
    seen, shapes, queue = set(), set(), ["/projects/", *vm_pages]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or (shape(path) in shapes and path not in vm_pages):
            continue
        seen.add(path)
        shapes.add(shape(path))
        response = visit(page, path, violations)
        if response is None or response.status >= 400 or urlsplit(page.url).path == "/login/":
            continue
        for href in page.evaluate(LINKS):
            target = urlsplit(urljoin(page.url, href))
            if (target.netloc == urlsplit(console_url).netloc and target.path not in seen
                    and not target.path.startswith(SKIP)):
                queue.append(target.path)

    assert {f"/projects/{PROJECT_A}/vms/{running_vm}/tty/", f"/projects/{PROJECT_A}/vms/{running_vm}/vnc/"} <= seen
    assert len(seen) > 40, sorted(seen)
    print(f"{len(seen)} pages:", *sorted(seen), sep="\n  ")
    assert violations == [] and messages == [], "\n".join(violations + messages)
