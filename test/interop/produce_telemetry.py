#!/usr/bin/env python3
"""Produces VM access telemetry to Foresight the way any Python service would: confluent-kafka
with its AvroSerializer through the schema registry (Confluent wire format, TopicNameStrategy).

  python3 produce_telemetry.py --brokers 127.0.0.1:9092 \
      --registry http://127.0.0.1:8081/apis/ccompat/v7 --topic telemetry.vm-access --count 10

Prints one line: the number of records acknowledged. Needs: pip install 'confluent-kafka[avro,schemaregistry]'
"""
import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--topic", required=True, help="Kafka topic to write (may carry a namespace prefix)")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--prefix", default="py")
    args = ap.parse_args()

    with open(os.path.join(SCHEMAS, "telemetry.vm-access.avsc")) as f:
        schema_str = f.read()
    registry = SchemaRegistryClient({"url": args.registry})
    # Subject <topic>-value (TopicNameStrategy); registering the same schema returns its id.
    serialize = AvroSerializer(registry, schema_str, conf={"auto.register.schemas": True})
    key = StringSerializer("utf_8")
    # murmur2_random: the partitioner of Java clients and of Foresight's producers, so a userId
    # lands on the same partition whoever wrote it (librdkafka's default, consistent_random, does not).
    producer = Producer({"bootstrap.servers": args.brokers, "acks": "all", "enable.idempotence": True,
                         "partitioner": "murmur2_random"})

    acked = []
    errors = []

    def on_delivery(err, msg):
        (errors if err else acked).append(err or msg.offset())

    now_ms = int(time.time() * 1000)
    actions = ["CONNECT", "EXEC", "ACCESS_REQUEST", "DISCONNECT"]
    for i in range(args.count):
        value = {
            "eventId": f"{args.prefix}-{i}",
            "timestamp": now_ms - 1000 + i,  # timestamp-millis as epoch ms
            "userId": f"py-user-{i % 3}",
            "vmId": f"py-vm-{i % 2}",
            "action": actions[i % len(actions)],
            "success": i % 5 != 4,
            "source": "python-confluent-kafka",
        }
        ctx = SerializationContext(args.topic, MessageField.VALUE)
        producer.produce(args.topic, key=key(value["userId"]), value=serialize(value, ctx), on_delivery=on_delivery)
    producer.flush(30)
    if errors or len(acked) != args.count:
        print(json.dumps({"acked": len(acked), "errors": [str(e) for e in errors]}), file=sys.stderr)
        return 1
    print(json.dumps({"acked": len(acked)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
