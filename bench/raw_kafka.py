"""The worker baseline: a bare aiokafka consume → produce loop with the same delivery guarantees
as plugin-runner (idempotent producer, acks=all, offsets committed after the sends are
acknowledged), doing the least a worker must: decode each event, encode an answer.

`python -m bench.raw_kafka GROUP IN_TOPIC OUT_TOPIC COUNT` exits after COUNT events; it finds
Kafka, and logs in, as the services do (KAFKA_BOOTSTRAP_SERVERS, KAFKA_USERNAME, ...)."""

from __future__ import annotations

import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from clipforge.messaging import kafka_options
from clipforge.settings import Settings


async def main(kafka: Settings, group: str, source: str, target: str, count: int) -> None:
    consumer = AIOKafkaConsumer(
        source,
        **kafka_options(kafka),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**kafka_options(kafka), acks="all", enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            sends = []
            for records in batches.values():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    answer = json.dumps(
                        {"clip_id": event["clip_id"], "source_event_id": event["event_id"], "results": []}
                    ).encode()
                    sends.append(await producer.send(target, answer, key=record.key))
            await asyncio.gather(*sends)
            if batches:
                await consumer.commit()
            done += len(sends)
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    group, source, target, count = sys.argv[1:5]
    asyncio.run(main(Settings(), group, source, target, int(count)))
