"""Browser tests of the VM consoles: VNC typing, takeover between users, refusals, VM stop."""
import pytest
from playwright.sync_api import expect

from tests.kube import PROJECT_A, delete_vm, guest_vm, run_operation, stop_vm, wait_for_phase
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.browser

VM = "e2e-console-vm"
CANVAS_DIGEST = """() => {
    const canvas = document.querySelector('#vnc-screen canvas');
    if (!canvas || !canvas.width) return null;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0, digest = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i] > 64) { lit++; digest = (digest * 31 + i) % 1000000007; }
    }
    return lit + ':' + digest;
}"""


@pytest.fixture(scope="module")
def console_vm(sim):
    guest_vm(sim, PROJECT_A, VM)
    yield VM
    delete_vm(sim, PROJECT_A, VM)


def tab_url(vm, tab):
    return f"/projects/project-a/vms/{vm}/{tab}/"


def new_user_page(browser, console_url, username):
    context = browser.new_context(base_url=console_url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects/")
    return page


def test_it_types_into_vnc_and_the_framebuffer_changes(page, log_in, console_vm):
    log_in("alice")
    page.goto(f"/projects/project-a/vms/{console_vm}/")
    page.get_by_role("link", name="VNC").click()
    expect(page.locator("#vnc-state")).to_have_text("Connected")
    expect(page.locator("#vnc-screen")).to_have_attribute("data-connected", "1")
    page.wait_for_function(f"() => {{ const d = ({CANVAS_DIGEST})(); return d && !d.startsWith('0:'); }}")
    before = page.evaluate(CANVAS_DIGEST)

    page.locator("#vnc-screen canvas").click()
    page.keyboard.type("cloud\n")
    page.wait_for_function(f"(before) => ({CANVAS_DIGEST})() !== before", arg=before)
    page.keyboard.type("cloud\n")

    # The key combinations menu and paste-as-typing reach the guest too.
    page.get_by_role("button", name="Send keys").click()
    page.get_by_role("button", name="Ctrl+Alt+Del").click()
    expect(page.locator("#vnc-notice")).to_have_text("Ctrl+Alt+Del sent.")
    page.get_by_label("Paste as typing").fill("echo typed-by-paste\n")
    page.get_by_role("button", name="Type it").click()
    expect(page.locator("#vnc-notice")).to_have_text("Typed 20 characters.")

    # The same guest on the serial console: VNC logged in, the TTY shows the shell.
    page.get_by_role("link", name="TTY").click()
    expect(page.locator("#tty-state")).to_have_text("Connected")
    page.wait_for_function("""() => {
        const buffer = window.dvpTerminal && window.dvpTerminal.buffer.active;
        if (!buffer) return false;
        for (let i = 0; i < buffer.length; i++) if (buffer.getLine(i).translateToString(true).includes('cloud@e2e-console-vm:~$')) return true;
        return false;
    }""")
    page.locator("#tty").click()
    page.keyboard.type("exit\r")


def test_it_warns_before_taking_over_and_tells_the_previous_user(browser, console_url, console_vm):
    alice = new_user_page(browser, console_url, "alice")
    operator = new_user_page(browser, console_url, "operator")
    try:
        alice.goto(tab_url(console_vm, "tty"))
        expect(alice.locator("#tty-state")).to_have_text("Connected")

        operator.goto(tab_url(console_vm, "tty"))
        question = operator.get_by_role("alertdialog")
        expect(question).to_be_visible()
        expect(question).to_contain_text("in use by alice since")
        expect(question).to_contain_text("from the web console")
        expect(operator.locator("#tty-state")).to_have_text("In use by alice.")
        operator.get_by_role("button", name="Take over").click()
        expect(operator.locator("#tty-state")).to_have_text("Connected")

        expect(alice.locator("#tty-state")).to_have_text(
            "Disconnected: operator took over this serial console from the web console.")
        # No automatic reconnect after a takeover: alice's page stays disconnected.
        alice.wait_for_timeout(1500)
        expect(alice.locator("#tty-state")).to_contain_text("took over")
    finally:
        alice.context.close()
        operator.context.close()


def test_it_opens_no_socket_for_a_viewer_without_the_console_right(page, log_in, console_vm):
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    log_in("victor")
    page.goto(tab_url(console_vm, "tty"))
    expect(page.get_by_role("alert")).to_contain_text("You may not open the serial console")
    page.goto(tab_url(console_vm, "vnc"))
    expect(page.get_by_role("alert")).to_contain_text("You may not open the VNC display")
    assert not [url for url in sockets if url.endswith(("/console/", "/vnc/"))]
    # Opened by hand, the socket is refused before it is accepted: it never opens.
    outcome = page.evaluate("""(path) => new Promise((resolve) => {
        const ws = new WebSocket('ws://' + location.host + path);
        let opened = false;
        ws.onopen = () => { opened = true; };
        ws.onclose = (event) => resolve({opened, code: event.code});
    })""", f"/ws/projects/project-a/vms/{console_vm}/console/")
    assert outcome == {"opened": False, "code": 1006}


def test_it_refuses_a_console_socket_opened_by_a_page_of_another_origin(page, log_in, console_vm, sim, console_url):
    log_in("alice")
    socket_url = console_url.replace("http://", "ws://") + f"/ws/projects/project-a/vms/{console_vm}/console/"
    probe = """(url) => new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => { ws.close(); resolve('opened'); };
        ws.onclose = () => resolve('refused');
    })"""
    assert page.evaluate(probe, socket_url) == "opened"  # from the console's own page (session cookie sent)
    page.goto(f"{sim.url}/dvpsim/samples/index.json")  # another program on the same host: cookies still go along
    assert page.evaluate(probe, socket_url) == "refused"


def test_it_closes_the_console_with_a_message_when_the_vm_stops_and_reconnects_after_it_starts(page, log_in, sim):
    vm = "e2e-stopping-vm"
    guest_vm(sim, PROJECT_A, vm)
    log_in("alice")
    page.goto(tab_url(vm, "tty"))
    expect(page.locator("#tty-state")).to_have_text("Connected")
    stop_vm(sim, PROJECT_A, vm)
    expect(page.locator("#tty-state")).to_contain_text("The virtual machine is Stop", timeout=30000)
    expect(page.locator("#tty-console")).not_to_have_attribute("data-state", "connected")
    expect(page.locator("#tty-state")).to_contain_text("Reconnecting in")

    # Started again, the page reconnects on its own (backing off while the VM is down).
    wait_for_phase(sim, "virtualmachines", "project-a", vm, "Stopped")
    run_operation(sim, PROJECT_A, vm, "Start")
    expect(page.locator("#tty-state")).to_have_text("Connected", timeout=45000)
    delete_vm(sim, PROJECT_A, vm)


def test_it_pops_the_tty_out_into_its_own_window(page, log_in, console_vm):
    log_in("alice")
    page.goto(tab_url(console_vm, "tty"))
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Pop out").click()
    popup = popup_info.value
    expect(popup).to_have_url(f"{page.url.split('/projects/')[0]}/projects/project-a/vms/{console_vm}/window/tty/")
    # The pop-out probes first: the tab holds the console (same user), so it connects without asking.
    expect(popup.locator("#tty-state")).to_have_text("Connected")
    expect(page.locator("#tty-state")).to_contain_text("you took over this serial console")
    popup.get_by_label("Search the scrollback (Enter: next, Shift+Enter: previous)").fill("login")
    popup.keyboard.press("Enter")
    popup.wait_for_function("() => window.dvpTerminal.hasSelection()")


def test_it_copies_pastes_and_reads_the_console_to_a_screen_reader(browser, console_url, console_vm):
    context = browser.new_context(base_url=console_url, viewport={"width": 1400, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto("/login/")
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/projects/")
        page.goto(tab_url(console_vm, "tty"))
        expect(page.locator("#tty-state")).to_have_text("Connected")
        page.wait_for_function("() => window.dvpTerminal.buffer.active.getLine(window.dvpTerminal.buffer.active.cursorY)"
                               ".translateToString(true).includes('login:')")

        # Paste: the clipboard's text is typed into the guest (here: the user name at the login prompt).
        page.evaluate("() => navigator.clipboard.writeText('cloud')")
        page.get_by_role("button", name="Paste").click()
        page.wait_for_function("() => window.dvpTerminal.buffer.active.getLine(window.dvpTerminal.buffer.active.cursorY)"
                               ".translateToString(true).includes('login: cloud')")

        # Copy: the selection goes to the clipboard.
        page.evaluate("() => window.dvpTerminal.selectAll()")
        page.get_by_role("button", name="Copy").click()
        expect(page.locator("#tty-notice")).to_have_text("Copied.")
        assert "login: cloud" in page.evaluate("() => navigator.clipboard.readText()")

        # Screen reader mode: xterm keeps an accessible copy of the screen's rows.
        page.get_by_label("Screen reader mode").check()
        expect(page.locator("#tty .xterm-accessibility-tree")).to_contain_text("login: cloud")
    finally:
        context.close()
