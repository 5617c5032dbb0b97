import factory

from personal_finance.users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password("pass-word-123")

    class Meta:
        model = User
        django_get_or_create = ("username",)
