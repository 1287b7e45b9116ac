"""portico_client against the running system: accounts, products, subscriptions, the inbox, and
errors as typed RFC 9457 Problem Details."""

import time
import uuid

from portico_client import AuthenticatedClient, Client
from portico_client.api.auth import issue_token
from portico_client.api.notifications import list_notifications
from portico_client.api.products import create_product, get_product
from portico_client.api.stock import set_product_stock
from portico_client.api.subscriptions import subscribe_back_in_stock
from portico_client.api.users import get_current_user, register_user
from portico_client.models import (
    CreateProductRequest,
    Money,
    NotificationPage,
    NotificationType,
    Problem,
    Product,
    RegisterUserRequest,
    SetStockRequest,
    SubscribeRequest,
    Subscription,
    TokenRequest,
    User,
)


def test_a_signed_in_user_reads_their_account(user: AuthenticatedClient) -> None:
    me = get_current_user.sync(client=user)
    assert isinstance(me, User)
    assert me.email.endswith("@example.com")


def test_an_admin_creates_a_product_and_anyone_reads_it(
    admin: AuthenticatedClient, base_url: str
) -> None:
    created = create_product.sync(
        client=admin,
        body=CreateProductRequest(
            name="Python mug", price=Money(amount=1450, currency="EUR"), stock=3
        ),
    )
    assert isinstance(created, Product)
    with Client(base_url=base_url) as anonymous:
        read = get_product.sync(created.id, client=anonymous)
    assert isinstance(read, Product)
    assert (read.id, read.name, read.price.amount, read.price.currency, read.stock) == (
        created.id,
        "Python mug",
        1450,
        "EUR",
        3,
    )


def test_a_subscriber_finds_the_back_in_stock_notification_in_the_inbox(
    admin: AuthenticatedClient, user: AuthenticatedClient
) -> None:
    product = create_product.sync(
        client=admin,
        body=CreateProductRequest(name="Sold-out teapot", price=Money(amount=3900, currency="EUR")),
    )
    assert isinstance(product, Product)
    subscription = subscribe_back_in_stock.sync(
        client=user, body=SubscribeRequest(product_id=product.id)
    )
    assert isinstance(subscription, Subscription)
    restocked = set_product_stock.sync(product.id, client=admin, body=SetStockRequest(quantity=5))
    assert isinstance(restocked, Product)

    deadline = time.monotonic() + 20  # the event crosses NATS to the notifications service
    while True:
        inbox = list_notifications.sync(client=user)
        assert isinstance(inbox, NotificationPage)
        found = [n for n in inbox.items if n.product_id == product.id]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(found) == 1
    assert found[0].type_ == NotificationType.BACK_IN_STOCK
    assert found[0].read_at is None


def test_an_invalid_request_gets_a_problem_naming_the_field(base_url: str) -> None:
    with Client(base_url=base_url) as anonymous:
        response = register_user.sync_detailed(
            client=anonymous,
            body=RegisterUserRequest(email="not-an-address", password="long-enough-pw", name="X"),
        )
    assert response.status_code == 400
    problem = response.parsed
    assert isinstance(problem, Problem)
    assert problem.status == 400
    assert [error.field for error in problem.errors] == ["email"]


def test_refused_credentials_and_a_missing_product_are_problems(
    user: AuthenticatedClient, base_url: str
) -> None:
    with Client(base_url=base_url) as anonymous:
        refused = issue_token.sync(
            client=anonymous,
            body=TokenRequest(
                grant_type="password",
                username=f"{uuid.uuid4().hex}@example.com",
                password="wrong-pw-1",
            ),
        )
    assert isinstance(refused, Problem)
    assert refused.status == 401

    missing = get_product.sync_detailed(uuid.uuid4(), client=user)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, Problem)
    assert missing.parsed.title
