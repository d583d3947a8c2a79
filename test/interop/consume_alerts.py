#!/usr/bin/env python3
"""Reads Foresight's alerts (or any Avro topic it writes) the way a Python service would:
confluent-kafka with its AvroDeserializer through the schema registry.

  python3 consume_alerts.py --brokers 127.0.0.1:9092 \
      --registry http://127.0.0.1:8081/apis/ccompat/v7 --topic alerts.admin --count 2

Prints one JSON object a line: {"key", "schemaId", "value"}; timestamps as epoch milliseconds.
"""
import argparse
import datetime
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(v):
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1000)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": f"interop-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe([args.topic])
    seen = 0
    deadline = time.time() + args.timeout
    try:
        while seen < args.count and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                print(f"error: {msg.error()}", file=sys.stderr)
                continue
            raw = msg.value()
            value = deserialize(raw, SerializationContext(msg.topic(), MessageField.VALUE))
            key = msg.key().decode("utf-8") if msg.key() is not None else None
            print(json.dumps({"key": key, "schemaId": int.from_bytes(raw[1:5], "big"), "value": plain(value)}), flush=True)
            seen += 1
    finally:
        consumer.close()
    return 0 if seen >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
