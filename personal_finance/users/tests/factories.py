import factory

from personal_finance.users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
