"""One declarative entry per kind drives the generic list, detail, delete and live views."""
from dataclasses import dataclass, field

from portal.kube.kinds import Kind


@dataclass(frozen=True)
class CreateChoice:
    label: str       # as the user guide names it, e.g. "Load data from link (HTTP)"
    url_name: str    # view name inside the "virtualization" namespace


@dataclass(frozen=True)
class Resource:
    slug: str                   # URL segment: /projects/<project>/<slug>/
    kind: Kind
    title: str                  # section title: "Disk Images"
    noun: str                   # "image": used in messages and buttons
    create_label: str           # "Create Image"
    detail_template: str        # the kind's detail page (extends the generic one)
    create: tuple = ()          # CreateChoice entries
    create_menu: bool = False   # show the choices as a menu under create_label ("Create Image" →)
    # Detail tabs in order: (key, label). Tabs other than overview/yaml/events render
    # templates/virtualization/<slug>/tab_<key>.html with extra["tab_context"][key](request, project, obj).
    tabs: tuple = (("overview", "Overview"), ("yaml", "YAML"), ("events", "Events"))
    # Columns of the API's Table that the list shows as a phase badge / progress bar.
    phase_column: str = "Phase"
    progress_column: str = "Progress"
    extra: dict = field(default_factory=dict)


    @property
    def tab_keys(self):
        return [key for key, _ in self.tabs]


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    REGISTRY[resource.slug] = resource
    return resource


def get(slug) -> Resource:
    return REGISTRY[slug]
