import pytest

from kehu.customers.tests.factories import org_customer


@pytest.fixture
def east_customer(org):
    """A customer of the east account manager (rep), in 华东区."""
    return org_customer(org.rep, "浙江华星石化有限公司")


@pytest.fixture
def north_customer(org):
    return org_customer(org.north_rep, "天津北方塑业有限公司")
