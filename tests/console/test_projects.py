from django.urls import reverse

from .conftest import MEMBER, OPERATOR, OUTSIDER, OWNER, PROJECT_A, PROJECT_B


def test_it_lists_only_the_projects_the_user_may_work_in(login, db):
    page = login(OWNER).get(reverse("projects:list")).content.decode()
    assert PROJECT_A in page
    assert PROJECT_B not in page

    page = login(OUTSIDER).get(reverse("projects:list")).content.decode()
    assert PROJECT_B in page
    assert PROJECT_A not in page


def test_it_shows_the_operator_every_project(login, db):
    page = login(OPERATOR).get(reverse("projects:list")).content.decode()
    assert PROJECT_A in page and PROJECT_B in page


def test_it_shows_a_member_the_project_page(login, db):
    response = login(MEMBER).get(reverse("projects:detail", args=[PROJECT_A]))
    assert response.status_code == 200
    assert "Virtual Machines" in response.content.decode()


def test_it_hides_a_project_from_an_outsider(login, db):
    assert login(OUTSIDER).get(reverse("projects:detail", args=[PROJECT_A])).status_code == 404


def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_logs_in_with_a_django_password(client, django_user_model):
    django_user_model.objects.create_user(OWNER, password="s3cret-pass")
    response = client.post(reverse("login"), {"username": OWNER, "password": "s3cret-pass"})
    assert response.status_code == 302
    assert client.get(reverse("projects:list")).status_code == 200


def test_it_rejects_a_wrong_password(client, django_user_model):
    django_user_model.objects.create_user(OWNER, password="s3cret-pass")
    response = client.post(reverse("login"), {"username": OWNER, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
