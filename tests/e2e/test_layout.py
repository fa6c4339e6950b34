"""The pages hold at 800, 1280 and 1920 px (issue 11, "Things a user trips over"): measured in the browser.

On the project's page, each kind's list, a VM's page with each of its tabs and each create form, as alice:
  - no control is cut: a select's chosen text, an input's placeholder and a button's label fit their box, and a
    button or a switch label stays on one line;
  - no two controls overlap; the page does not scroll sideways (a wide table scrolls in its own box);
  - the tab bar is one row (or scrolls), buttons side by side share a height, the top bar is under 64 px;
  - the "⋯" menu of the last row of the VM list opens wholly inside the viewport, clipped by no ancestor.
LAYOUT_SHOTS=<dir> saves a screenshot of each page at each width.
"""
import os
import re

import pytest
from kubernetes import client

pytestmark = pytest.mark.browser

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"
WIDTHS = (800, 1280, 1920)
PROJECT = "project-a"
VM = "layout-vm"

# Everything the checks measure, in one pass over the page; returns a list of problems in words.
MEASURE = r"""() => {
  const problems = [];
  const visible = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !el.closest('dialog:not([open])')
      && !el.closest('details:not([open]) > :not(summary)'); };
  const name = el => (el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : '') + ' "' +
    (el.innerText || el.value || el.placeholder || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"');
  const canvas = document.createElement('canvas').getContext('2d');
  const textWidth = (el, text) => { const s = getComputedStyle(el);
    canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`; return canvas.measureText(text).width; };
  const px = v => parseFloat(v) || 0;
  const room = el => { const s = getComputedStyle(el); return el.clientWidth - px(s.paddingLeft) - px(s.paddingRight); };
  const controls = [...document.querySelectorAll('main select, main input, main textarea, main button, main [role=button], ' +
      'main summary, header button, header a')].filter(visible);
  for (const el of controls) {
    const type = (el.type || '').toLowerCase();
    if (['checkbox', 'radio', 'hidden', 'file', 'range'].includes(type)) continue;
    if (el.tagName === 'SELECT') {
      const option = el.options[el.selectedIndex];
      if (option && textWidth(el, option.text) > room(el) + 1) problems.push(`cut: ${name(el)} shows "${option.text}"`);
    } else if (el.tagName === 'INPUT' && !el.value && el.placeholder) {
      if (textWidth(el, el.placeholder) > room(el) + 1) problems.push(`cut: placeholder of ${name(el)}`);
    } else if (el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'TEXTAREA' && el.tagName !== 'INPUT') {
      problems.push(`cut: ${name(el)} (${el.scrollWidth} > ${el.clientWidth})`);
    }
    if (el.matches('button, [role=button], summary[role=button]')) {
      const s = getComputedStyle(el), line = px(s.lineHeight) || px(s.fontSize) * 1.5;
      const inner = el.clientHeight - px(s.paddingTop) - px(s.paddingBottom);
      if (inner > line * 1.6) problems.push(`wraps: ${name(el)} (${Math.round(inner)} px for ${Math.round(line)} px lines)`);
    }
  }
  for (const label of [...document.querySelectorAll('main label:has(input[role=switch]), main .list-tools label')].filter(visible)) {
    const s = getComputedStyle(label), line = px(s.lineHeight) || px(s.fontSize) * 1.5;
    if (label.getBoundingClientRect().height > line * 1.6) problems.push(`wraps: label "${label.innerText.trim()}"`);
  }
  // Controls stay within the page's main column (a control pushed out to the left scrolls nothing).
  const column = document.querySelector('main').getBoundingClientRect();
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    const s = getComputedStyle(p); if (s.overflowX !== 'visible' || s.position === 'fixed') return true; } return false; };
  for (const el of controls.filter(el => el.closest('main') && !scrolls(el))) {
    const r = el.getBoundingClientRect();
    if (r.left < column.left - 1 || r.right > column.right + 1) problems.push(`outside the main column: ${name(el)}`);
  }
  // Overlaps between controls that are not one inside the other.
  const boxes = controls.concat([...document.querySelectorAll('main a')].filter(visible))
    .filter(el => !el.closest('details[open] > ul'));
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const r = a.getBoundingClientRect(), q = b.getBoundingClientRect();
    const w = Math.min(r.right, q.right) - Math.max(r.left, q.left), h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
    if (w > 2 && h > 2) problems.push(`overlap: ${name(a)} and ${name(b)}`);
  }
  // Buttons side by side (same row of one flex or grid box) share a height.
  const rowButtons = [...document.querySelectorAll('main button, main [role=button], main input[type=submit]')].filter(visible);
  const flexOf = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    const d = getComputedStyle(p).display; if (['flex', 'inline-flex', 'grid'].includes(d)) return p; } return null; };
  for (let i = 0; i < rowButtons.length; i++) for (let j = i + 1; j < rowButtons.length; j++) {
    const a = rowButtons[i], b = rowButtons[j], fa = flexOf(a);
    if (!fa || fa !== flexOf(b) || a.closest('table') || b.closest('table')) continue;
    const r = a.getBoundingClientRect(), q = b.getBoundingClientRect();
    if (Math.abs((r.top + r.bottom) / 2 - (q.top + q.bottom) / 2) > 8) continue;
    if (Math.abs(r.height - q.height) > 1.5) problems.push(`heights: ${name(a)} ${Math.round(r.height)} px, ${name(b)} ${Math.round(q.height)} px`);
  }
  const tabs = document.querySelector('nav.tabs ul');
  if (tabs && visible(tabs)) {
    const tops = [...tabs.children].map(li => li.getBoundingClientRect().top);
    if (Math.max(...tops) - Math.min(...tops) > 4) problems.push(`tabs wrap: their tops are ${tops.map(Math.round)}`);
  }
  const top = document.querySelector('header.topbar');
  if (top.getBoundingClientRect().height > 64) problems.push(`top bar ${Math.round(top.getBoundingClientRect().height)} px`);
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    const wide = [...document.body.querySelectorAll('*')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
      && ![...el.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1)).slice(0, 3)
      .map(el => `${el.tagName.toLowerCase()}.${el.className}`);
    problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth} (${wide.join(', ')})`);
  }
  return problems;
}"""

# Whether an open menu is wholly visible: inside the viewport, clipped by no ancestor, and on top at its items.
MENU = r"""(menu) => {
  const problems = [], r = menu.getBoundingClientRect();
  if (r.left < 0 || r.top < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight)
    problems.push(`menu outside the viewport: ${JSON.stringify(r)} in ${window.innerWidth}x${window.innerHeight}`);
  for (let p = menu.parentElement; p && p !== document.body; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    // A fixed box is clipped only by an ancestor that contains it (a transform, filter or paint containment).
    if (getComputedStyle(menu).position === 'fixed' && s.transform === 'none' && s.filter === 'none'
        && !/paint|strict|content/.test(s.contain)) continue;
    const q = p.getBoundingClientRect();
    if (r.left < q.left - 1 || r.top < q.top - 1 || r.right > q.right + 1 || r.bottom > q.bottom + 1)
      problems.push(`menu clipped by ${p.tagName.toLowerCase()}.${p.className} (overflow ${s.overflowX}/${s.overflowY})`);
  }
  for (const item of menu.querySelectorAll('li')) {
    const b = item.getBoundingClientRect(), hit = document.elementFromPoint((b.left + b.right) / 2, (b.top + b.bottom) / 2);
    if (!hit || !item.contains(hit)) problems.push(`menu item "${item.innerText.trim()}" is covered or off screen`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def objects(sim):
    """A VM with a disk and a few more stopped VMs, so the VM list has rows below the first."""
    api = client.CustomObjectsApi(sim.api("admin"))
    for n in range(4):
        name = f"{VM}-{n}" if n else VM
        for plural, kind, spec in (
                ("virtualdisks", "VirtualDisk", {"persistentVolumeClaim": {"size": "1Gi"}}),
                ("virtualmachines", "VirtualMachine", {
                    "virtualMachineClassName": "generic", "runPolicy": "AlwaysOnUnlessStoppedManually" if not n
                    else "AlwaysOff", "cpu": {"cores": 1, "coreFraction": "10%"}, "memory": {"size": "1Gi"},
                    "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]})):
            body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "spec": spec,
                    "metadata": {"name": f"{name}-root" if plural == "virtualdisks" else name}}
            try:
                api.create_namespaced_custom_object(GROUP, VERSION, PROJECT, plural, body)
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
    yield


def shoot(page, label, width):
    folder = os.environ.get("LAYOUT_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')}-{width}.png"),
                        full_page=True)


def links(page, selector):
    return list(dict.fromkeys(page.eval_on_selector_all(selector, "els => els.map(a => a.getAttribute('href'))")))


def pages_to_measure(page):
    """The project's page, each kind's list (the sidebar's), the VM's page and tabs, a disk's page, each create form."""
    page.goto(f"/projects/{PROJECT}/")
    lists = [href for href in links(page, ".sidebar a[href]") if href.startswith(f"/projects/{PROJECT}/")
             and href.rstrip("/") != f"/projects/{PROJECT}"]
    creates = []
    for href in lists:
        page.goto(href)
        creates += [h for h in links(page, "main .page-head a[href]") if "/_new/" in h]
    page.goto(f"/projects/{PROJECT}/vms/{VM}/")
    tabs = links(page, "nav.tabs a[href]")
    disk = f"/projects/{PROJECT}/disks/{VM}-root/"  # a page with Download and Delete side by side
    delete = f"/projects/{PROJECT}/vms/{VM}/delete/"  # a confirmation: Cancel beside its button
    return [f"/projects/{PROJECT}/", *lists, *tabs, disk, delete, *dict.fromkeys(creates)]


@pytest.mark.parametrize("width", WIDTHS)
def test_it_holds_every_page_at_the_width(width, objects, log_in):
    page = log_in("alice")
    page.set_viewport_size({"width": width, "height": 900})
    problems = {}
    for url in pages_to_measure(page):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        shoot(page, url, width)
        found = page.evaluate(MEASURE)
        if found:
            problems[url] = found
    assert not problems, "\n".join(f"{url}: {problem}" for url, found in problems.items() for problem in found)


# Per sidebar section (Virtualization, Network, System): the left edges of its entries, and where its label and its
# entries' text begin.
SIDEBAR = r"""(lists) => lists.map(ul => ({
  label: ul.previousElementSibling.innerText.trim(),
  labelLeft: ul.previousElementSibling.getBoundingClientRect().left,
  entries: [...ul.querySelectorAll('a')].map(a => a.getBoundingClientRect().left),
  text: [...ul.querySelectorAll('a')].map(a => a.getBoundingClientRect().left + parseFloat(getComputedStyle(a).paddingLeft)),
}))"""


@pytest.mark.parametrize("width", WIDTHS)
def test_it_lines_up_the_entries_of_every_sidebar_section(width, log_in):
    page = log_in("alice")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/projects/{PROJECT}/")
    sections = page.eval_on_selector_all(".sidebar nav ul", SIDEBAR)
    assert [s["label"].lower() for s in sections][-1] == "system" and len(sections) >= 3
    assert all(s["entries"] for s in sections)
    lefts = {s["label"]: sorted({round(x, 1) for x in s["entries"]}) for s in sections}
    assert len({x for xs in lefts.values() for x in xs}) == 1, f"the entries' left edges differ: {lefts}"
    starts = {s["label"]: sorted({round(x, 1) for x in [s["labelLeft"], *s["text"]]}) for s in sections}
    assert len({x for xs in starts.values() for x in xs}) == 1, f"labels and entries' text begin apart: {starts}"


@pytest.mark.parametrize("width", WIDTHS)
def test_it_opens_the_last_rows_menu_wholly(width, objects, log_in):
    page = log_in("alice")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/projects/{PROJECT}/vms/")
    name = page.locator("#rows tr").last.get_attribute("data-name")
    page.locator(f"#menu-{name} summary").click()
    menu = page.locator(f"#menu-{name}[open] > ul")
    menu.wait_for()
    shoot(page, "vms-row-menu", width)
    assert menu.locator("li").count() > 1
    problems = menu.evaluate(MENU)
    assert not problems, "\n".join(problems)
