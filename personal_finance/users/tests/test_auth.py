import pytest
from django.core.management import call_command
from django.urls import reverse

from personal_finance.users.models import User

pytestmark = pytest.mark.django_db


def test_token_for_valid_credentials_and_token_auth(api_client, user):
    response = api_client.post("/api/auth/token/", {"username": user.username, "password": "pass-word-123"})
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) == 40

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == user.username


def test_bad_credentials_answer_400_with_error_shape(api_client, user, caplog):
    with caplog.at_level("WARNING", logger="personal_finance.auth"):
        response = api_client.post("/api/auth/token/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert body["errors"]["non_field_errors"]
    assert any("failed login" in r.getMessage() for r in caplog.records)


def test_missing_fields_name_each_field(api_client):
    response = api_client.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_anonymous_api_access_is_refused_with_error_shape(api_client):
    response = api_client.get("/api/users/me/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"detail", "errors"}


def test_bad_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert api_client.get("/api/users/me/").status_code == 401


def test_user_detail_of_another_user_is_404(auth_client, other_user):
    assert auth_client.get(f"/api/users/{other_user.username}/").status_code == 404


def test_login_and_logout_pages(client, user):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Log in" in page.content
    assert client.get("/").status_code == 302  # home requires login

    response = client.post(reverse("login"), {"username": user.username, "password": "pass-word-123"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200

    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    demo = User.objects.get(username="demo")
    assert demo.check_password("demo")
    assert User.objects.filter(username="demo").count() == 1
