//! Working-time engine throughput on `cn-standard` (2025/2026 holidays and make-up days).
//! Target: `due` ≥ 1,000,000 per second per core for spans up to 30 working days, i.e. at
//! most 1 µs per call. Start instants are spread over 2025–2026 so holiday blocks are hit.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rules::calendar::Calendar;
use rules::sla::{Clock, ClockMode, Pause, SlaTarget, reasons};

/// 1,024 start instants, pseudo-randomly spread over 2025-01-01..2026-12-01 (a fixed LCG so
/// runs are comparable).
fn starts() -> Vec<DateTime<Utc>> {
    let first = 1_735_660_800i64; // 2025-01-01T00:00:00+08:00
    let span = 700 * 86_400;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..1024)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let offset = (state >> 11) as i64 % span;
            DateTime::from_timestamp(first + offset, 0).unwrap()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let cal = Calendar::cn_standard().compile().unwrap();
    let starts = starts();

    let mut group = c.benchmark_group("due");
    group.throughput(Throughput::Elements(1));
    for (label, minutes) in [("1h", 60), ("1d", 480), ("5d", 5 * 480), ("10d", 10 * 480), ("30d", 30 * 480)] {
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(cal.due(black_box(starts[i]), black_box(minutes)))
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("working_minutes");
    group.throughput(Throughput::Elements(1));
    for (label, days) in [("1d", 1), ("1month", 30), ("1year", 365)] {
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & 1023;
                let from = starts[i];
                black_box(cal.working_minutes(black_box(from), from + Duration::days(days)))
            })
        });
    }
    group.finish();

    c.bench_function("compile/cn-standard", |b| {
        let source = Calendar::cn_standard();
        b.iter(|| black_box(source.compile().unwrap()))
    });

    // A working 1-day clock with two pauses, one open: what the sweeper does per row.
    let target = SlaTarget::new("resolution", "修复", "Resolution", 480, ClockMode::Working)
        .pausing_on(&[reasons::WAITING_CUSTOMER, reasons::WAITING_PARTS]);
    c.bench_function("sla/evaluate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            let start = starts[i];
            let pauses = [
                Pause {
                    reason: reasons::WAITING_CUSTOMER.into(),
                    from: start + Duration::hours(2),
                    to: Some(start + Duration::hours(20)),
                },
                Pause { reason: reasons::WAITING_PARTS.into(), from: start + Duration::days(2), to: None },
            ];
            let clock = Clock {
                target: &target,
                calendar: &cal,
                started_at: start,
                pauses: &pauses,
                stopped_at: None,
                requested_by: None,
            };
            black_box(clock.evaluate(black_box(start + Duration::days(3))))
        })
    });
}

criterion_group!(group, benches);
criterion_main!(group);
