"""Consumes Confluent-framed protobuf records with Confluent's own Python client.

Run by tests/python_consumer.rs with the interpreter of the virtual environment that
scripts/services.sh provisions (confluent-kafka with its protobuf extra). Nothing here is
ours but the loop: the consumer is confluent-kafka's, the framing is read by its
`SchemaId` and `ProtobufDeserializer`, and the message classes are made by Google's
protobuf runtime from the descriptor set our `SchemaSet::file_descriptor_set()` wrote.

The ids stand in for a registry: `--schema-ids` maps each schema id to the message it
names, as a registry's `/schemas/ids/{id}` would.

Prints one JSON object per record kept, and exits non-zero if fewer than `--count`
records with the key prefix arrive before the timeout.
"""

import argparse
import io
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.schema_registry.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def message_classes(descriptor_set_path):
    """Every message of the descriptor set, by full name."""
    with open(descriptor_set_path, "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    classes = {}
    for file in files.file:
        descriptor = pool.FindFileByName(file.name)
        for message in descriptor.message_types_by_name.values():
            classes[message.full_name] = message_factory.GetMessageClass(message)
    return classes


def assign_from_beginning(consumer, topics):
    partitions = []
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        partitions += [TopicPartition(topic, p, 0) for p in metadata.partitions]
    consumer.assign(partitions)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--key-prefix", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--descriptor-set", required=True)
    parser.add_argument("--schema-ids", required=True, help='JSON: {"1001": "pkg.Message"}')
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    classes = message_classes(args.descriptor_set)
    with open(args.schema_ids) as f:
        names = {int(id): name for id, name in json.load(f).items()}
    deserializers = {
        id: ProtobufDeserializer(classes[name], {"use.deprecated.format": False})
        for id, name in names.items()
    }

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "python-confluent-consumer",
            "enable.auto.commit": False,
        }
    )
    assign_from_beginning(consumer, args.topics.split(","))
    prefix = args.key_prefix.encode()
    kept = 0
    deadline = time.monotonic() + args.timeout
    while kept < args.count and time.monotonic() < deadline:
        record = consumer.poll(0.5)
        if record is None:
            continue
        if record.error() is not None:
            raise KafkaException(record.error())
        if not (record.key() or b"").startswith(prefix):
            continue
        schema_id = SchemaId("PROTOBUF")
        schema_id.from_bytes(io.BytesIO(record.value()))
        context = SerializationContext(record.topic(), MessageField.VALUE, record.headers())
        message = deserializers[schema_id.id](record.value(), context)
        headers = {k: v.decode() for k, v in record.headers() or []}
        print(
            json.dumps(
                {
                    "topic": record.topic(),
                    "event_id": headers["event_id"],
                    "schema_id": schema_id.id,
                    "message_indexes": schema_id.message_indexes,
                    "message": message.DESCRIPTOR.full_name,
                    "reencoded": message.SerializeToString(deterministic=True).hex(),
                    "json": json_format.MessageToDict(message, preserving_proto_field_name=True),
                }
            )
        )
        kept += 1
    consumer.close()
    if kept < args.count:
        print(f"only {kept} of {args.count} records arrived", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
