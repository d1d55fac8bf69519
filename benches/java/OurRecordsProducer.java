// Kafka's own Java producer sending the records our publish sends: the same keys, the same
// four headers and the same protobuf payloads, with acks=all and idempotence, as
// `benches/throughput.rs` times ours. The records come from a file the bench writes
// (per record: the key's and the payload's lengths as big-endian u16, then their bytes),
// read into memory before the clock starts.
//
// Run as a single source file: java -cp "$KAFKA_TEST_LIBS/*" OurRecordsProducer.java
//   <bootstrap> <topic> <records file>
// Prints "<count> records acknowledged in <seconds> s, <rate> records/sec".

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class OurRecordsProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(args[2])))) {
            while (in.available() > 0) {
                byte[] key = new byte[in.readUnsignedShort()];
                in.readFully(key);
                byte[] payload = new byte[in.readUnsignedShort()];
                in.readFully(payload);
                keys.add(key);
                payloads.add(payload);
            }
        }
        // The header values the raw rdkafka loop sends: an event id's 36 characters, the
        // event and schema names and the content type.
        Header[] headers = {
            new RecordHeader("event_name", bytes("payment.attempted")),
            new RecordHeader("event_id", bytes("0190d7a4-6e2c-7c4a-9d3e-2b1f00000000")),
            new RecordHeader("schema_name", bytes("events.PaymentAttempted")),
            new RecordHeader("content_type", bytes("application/x-protobuf")),
        };

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", "all");
        props.put("enable.idempotence", "true");
        props.put("key.serializer", ByteArraySerializer.class.getName());
        props.put("value.serializer", ByteArraySerializer.class.getName());

        AtomicLong acknowledged = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            long started = System.nanoTime();
            for (int i = 0; i < keys.size(); i++) {
                // `send` blocks while the producer's buffer is full, as the Rust loops wait.
                producer.send(
                    new ProducerRecord<>(topic, null, keys.get(i), payloads.get(i), List.of(headers)),
                    (metadata, exception) -> {
                        if (exception != null) {
                            failure.compareAndSet(null, exception);
                        } else {
                            acknowledged.incrementAndGet();
                        }
                    });
            }
            producer.flush();
            double seconds = (System.nanoTime() - started) / 1e9;
            if (failure.get() != null) {
                throw failure.get();
            }
            if (acknowledged.get() != keys.size()) {
                throw new IllegalStateException(acknowledged.get() + " of " + keys.size() + " acknowledged");
            }
            System.out.printf("%d records acknowledged in %.3f s, %.1f records/sec%n",
                keys.size(), seconds, keys.size() / seconds);
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
