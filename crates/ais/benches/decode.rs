use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn lines() -> Vec<u8> {
    let sample: &[&[u8]] = &[
        b"!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n",
        b"\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F\n",
        b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n",
        b"!AIVDM,2,2,3,B,1@0000000000000,2*55\n",
        b"!AIVDM,1,1,,A,B5NIeAP00=qmw14cRKvQSwm5WP06,0*51\n",
    ];
    let mut v = Vec::new();
    for _ in 0..2000 {
        for s in sample {
            v.extend_from_slice(s);
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let data = lines();
    let n = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("stream_mixed", |b| {
        b.iter(|| {
            let mut count = 0u64;
            let mut sink = |m: &ais::Message<'_>, _: &ais::Meta| {
                count += m.mmsi().value() as u64 & 1;
            };
            let stats = ais::stream::decode_all(&data, &mut sink);
            (stats.messages, count)
        })
    });
    let mut p = ais::bits::Payload::new();
    g.throughput(Throughput::Elements(1));
    g.bench_function("payload_type1", |b| {
        b.iter(|| {
            p.set(b"177KQJ5000G?tO`K>RA1wUbN0TKH", 0).unwrap();
            ais::decode(&p).map(|m| m.mmsi()).ok()
        })
    });
    g.bench_function("frame_sentence", |b| {
        let line: &[u8] = b"!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C";
        b.iter(|| {
            ais::nmea::Sentences::new(line, 0)
                .next()
                .map(|r| r.map(|s| s.checksum))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
