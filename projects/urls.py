from django.urls import path

from . import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("<str:project>/", views.project_detail, name="detail"),
]
