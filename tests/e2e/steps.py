"""Steps the user guide's web procedures share, as the browser tests take them."""
import time


def open_project(page, project):
    """Go to the "Projects" tab and select the desired project (the console learns of a new project within its
    access cache's 10 seconds)."""
    deadline = time.monotonic() + 30
    while True:
        page.get_by_role("link", name="Projects", exact=True).click()
        link = page.get_by_role("link", name=project, exact=True)
        if link.count() or time.monotonic() > deadline:
            break
        time.sleep(1)
    link.click()


def open_section(page, section):
    """Go to a section of the project's sidebar ("Virtualization" → "VM Disks", "Network" → "Services", ...)."""
    page.get_by_role("navigation", name="Project navigation").get_by_role("link", name=section, exact=True).click()
