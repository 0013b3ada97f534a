"""Every scenario with every Python client, driven in-process."""
import pytest

from clients import aiokafka_client, confluent_client, kafka_python_client
from conftest import SCENARIOS

CLIENTS = {
    "kafka-python": kafka_python_client,
    "confluent-kafka": confluent_client,
    "aiokafka": aiokafka_client,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("client", list(CLIENTS))
def test_scenario(client, scenario, ctx, record_property):
    record_property("client", client)
    record_property("scenario", scenario)
    getattr(CLIENTS[client], scenario.replace("-", "_"))(ctx)
