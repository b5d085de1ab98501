//! The decision procedure. `Facts` reduces the request to the numbers the rules compare
//! (day numbers, period ends, repair counts and days); the rules then grant remedies in order
//! of preference to the consumer, so when several rules grant the same remedy the first one
//! (a full-price refund before a depreciated one) is the one cited. Exclusions are applied
//! last and only ever take free remedies away.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::citation::Citation;
use super::dates::{add_days, day_number, local_date, period_end};
use super::output::{Decision, Evaluation, Warning};
use super::policy::{CategoryTerms, Policy, PolicyFamily, WindowTerms};
use super::prepared::Prepared;
use super::reason::{Amount, AmountBasis, Reason};
use super::types::{EvaluateRequest, FaultKind, HistoryEntry, HistoryKind, Remedy, RemedySet, VehicleSystem};
use super::validate::{part_name, sale_date};

/// How the money of a granted refund (or exchange) is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    None,
    /// Full invoice / purchase price.
    Full,
    /// 458号 art. 13: depreciation when the same model is available.
    Depreciated,
    /// 43号 art. 27: usage compensation.
    Compensated,
}

#[derive(Debug, Clone, Copy)]
struct Ground<'p> {
    clause: &'p str,
    /// Item of the clause, e.g. "(1)".
    item: &'static str,
    /// A second clause cited together with the first (art. 11 with art. 13).
    also: Option<&'p str>,
    reason: Reason,
    basis: Basis,
}

impl<'p> Ground<'p> {
    fn new(clause: &'p str, reason: Reason) -> Self {
        Ground { clause, item: "", also: None, reason, basis: Basis::None }
    }

    fn basis(mut self, basis: Basis) -> Self {
        self.basis = basis;
        self
    }

    fn also(mut self, clause: Option<&'p str>) -> Self {
        self.also = clause;
        self
    }

    fn item(mut self, item: &'static str) -> Self {
        self.item = item;
        self
    }
}

/// One repair of the current period, reduced to what the rules use.
#[derive(Debug, Clone, Copy)]
struct Longest {
    days: u32,
    start: NaiveDate,
    in_progress: bool,
}

#[derive(Debug, Clone, Copy)]
struct Delay {
    start: NaiveDate,
    days: u32,
    waiting: u32,
}

#[derive(Debug)]
struct Facts<'a> {
    category: Option<&'a CategoryTerms>,
    sale: NaiveDate,
    cycle_start: NaiveDate,
    exchange: Option<NaiveDate>,
    exchanges: u32,
    day_since_sale: u32,
    day_in_cycle: u32,
    /// The day number windows are counted with (from the sale or from the exchange).
    window_day: u32,
    months: u32,
    warranty_end: NaiveDate,
    extension_days: u32,
    sanbao_end: Option<NaiveDate>,
    in_warranty: bool,
    in_sanbao: bool,
    km: Option<u64>,
    repair_days: u32,
    repair_days_all: u32,
    counted_repair_days: u32,
    same_fault_repairs: u32,
    same_fault_repairs_all: u32,
    serious_repairs: u32,
    assembly_replacements: u32,
    part_replacements: u32,
    longest: Option<Longest>,
    courtesy_days: u32,
    parts_delay: Option<Delay>,
    repairer_delay: Option<Delay>,
    last_same_fault_end: Option<NaiveDate>,
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

struct Counter<'a> {
    policy: &'a Policy,
    req: &'a EvaluateRequest,
    pre: &'a [Prepared],
    exchange_at: Option<DateTime<FixedOffset>>,
}

impl Counter<'_> {
    fn in_cycle(&self, p: &Prepared) -> bool {
        self.exchange_at.is_none_or(|x| p.start >= x)
    }

    /// Repairs (and replacements) with their prepared dates.
    fn repairs(&self) -> impl Iterator<Item = (&HistoryEntry, &Prepared)> {
        self.req.history.iter().zip(self.pre).filter(|(h, _)| h.is_repair())
    }

    fn days(&self, p: &Prepared) -> i64 {
        p.days(self.policy.warranty.repair_day_counting)
    }

    /// Days added back to a period ending on `base_end`: repairs that began while the
    /// (extended) period was running. Iterated to a fixed point, because each day added may
    /// bring a later repair inside the period; the sum only grows, so more repair days can
    /// never shorten a period.
    fn extension(&self, base_end: NaiveDate) -> i64 {
        let mut ext = 0i64;
        loop {
            let end = add_days(base_end, ext);
            let next: i64 = self
                .repairs()
                .filter(|(_, p)| self.in_cycle(p) && p.start_date <= end)
                .map(|(_, p)| self.days(p))
                .fold(0i64, i64::saturating_add);
            if next <= ext {
                return ext;
            }
            ext = next;
        }
    }
}

fn is_assembly(h: &HistoryEntry, system: VehicleSystem) -> bool {
    part_name(&h.main_part).is_none_or(|p| p.eq_ignore_ascii_case(system.code()))
}

fn facts<'a>(
    policy: &'a Policy,
    req: &'a EvaluateRequest,
    pre: &'a [Prepared],
    category: Option<&'a CategoryTerms>,
    warnings: &mut Vec<Warning>,
) -> Facts<'a> {
    let sale = sale_date(policy, req);
    let mut exchange_at: Option<DateTime<FixedOffset>> = None;
    let mut exchanges = 0u32;
    for h in req.history.iter().filter(|h| h.kind == HistoryKind::Exchange) {
        exchanges += 1;
        let at = h.effective();
        if exchange_at.is_none_or(|x| at > x) {
            exchange_at = Some(at);
        }
    }
    let exchange = exchange_at.map(local_date);
    let cycle_start = exchange.map_or(sale, |x| x.max(sale));

    if category.is_none()
        && let Some(name) = req.category.as_deref().map(str::trim).filter(|n| !n.is_empty())
    {
        warnings.push(Warning::UnknownCategory(name.to_owned()));
    }
    let main_part = part_name(&req.fault.main_part);
    let category_months = category.and_then(|c| match main_part {
        Some(_) => c.main_parts_months.or(c.warranty_months),
        None => c.warranty_months,
    });
    // Validation guarantees one of these; 1 month keeps a hand-built request from panicking.
    let months = req.warranty_months.or(category_months).or(policy.warranty.months.for_grade(req.grade)).unwrap_or(1);

    let counter = Counter { policy, req, pre, exchange_at };
    let extend = policy.warranty.extend_by_repair_days;
    let base_end = period_end(cycle_start, months);
    let ext = if extend { counter.extension(base_end) } else { 0 };
    let warranty_end = add_days(base_end, ext);
    let km = req.odometer_km;
    let km_within = |limit: Option<u64>| match (km, limit) {
        (Some(km), Some(limit)) => km <= limit,
        _ => true,
    };
    let today = req.request_date;
    let in_warranty = today <= warranty_end && km_within(policy.warranty.km_limit);
    let (sanbao_end, in_sanbao) = match &policy.sanbao {
        Some(s) => {
            let base = period_end(cycle_start, s.months);
            let end = add_days(base, if extend { counter.extension(base) } else { 0 });
            (Some(end), today <= end && km_within(s.km_limit))
        }
        None => (None, in_warranty),
    };

    let day_since_sale = to_u32(day_number(sale, today));
    let day_in_cycle = to_u32(day_number(cycle_start, today));
    let window_day = if policy.windows_restart_on_exchange { day_in_cycle } else { day_since_sale };

    let fault = &req.fault;
    let courtesy_after = policy.vehicle.as_ref().and_then(|v| v.courtesy_car.as_ref()).map(|c| i64::from(c.after_days));
    let mut f = Facts {
        category,
        sale,
        cycle_start,
        exchange,
        exchanges,
        day_since_sale,
        day_in_cycle,
        window_day,
        months,
        warranty_end,
        extension_days: to_u32(ext),
        sanbao_end,
        in_warranty,
        in_sanbao,
        km,
        repair_days: 0,
        repair_days_all: 0,
        counted_repair_days: 0,
        same_fault_repairs: 0,
        same_fault_repairs_all: 0,
        serious_repairs: 0,
        assembly_replacements: 0,
        part_replacements: 0,
        longest: None,
        courtesy_days: 0,
        parts_delay: None,
        repairer_delay: None,
        last_same_fault_end: None,
    };

    let mut repair_days = 0i64;
    let mut repair_days_all = 0i64;
    let mut counted = 0i64;
    let mut courtesy = 0i64;
    for (h, p) in counter.repairs() {
        let days = counter.days(p);
        repair_days_all = repair_days_all.saturating_add(days);
        let completed = h.end.is_some();
        if h.same_fault && completed {
            f.same_fault_repairs_all += 1;
        }
        if !counter.in_cycle(p) {
            continue;
        }
        repair_days = repair_days.saturating_add(days);
        counted = counted.saturating_add(p.counted_days(h.excluded_hours));
        if let Some(after) = courtesy_after {
            courtesy = courtesy.saturating_add((days - after).max(0));
        }
        let start = p.start_date;
        if f.longest.is_none_or(|l| days > i64::from(l.days)) {
            f.longest = Some(Longest { days: to_u32(days), start, in_progress: !completed });
        }
        if h.same_fault && completed {
            f.same_fault_repairs += 1;
            let end = p.end_date.unwrap_or(start);
            if f.last_same_fault_end.is_none_or(|d| end > d) {
                f.last_same_fault_end = Some(end);
            }
        }
        if completed && (h.serious_safety || h.same_fault && fault.serious_safety) {
            f.serious_repairs += 1;
        }
        if let Some(system) = fault.system
            && h.kind == HistoryKind::Replacement
            && completed
            && h.system == Some(system)
        {
            if is_assembly(h, system) {
                f.assembly_replacements += 1;
            } else if let (Some(p), Some(q)) = (part_name(&h.main_part), main_part)
                && p.eq_ignore_ascii_case(q)
            {
                f.part_replacements += 1;
            }
        }
        // 458号 art. 12 looks at the repair of this fault, or one still under way.
        if h.same_fault || !completed {
            let waiting = i64::from(h.waiting_for_parts_days);
            if let Some(t) = &policy.parts_delay
                && days > i64::from(t.days)
                && waiting > 0
            {
                f.parts_delay = Some(Delay { start, days: to_u32(days), waiting: to_u32(waiting) });
            }
            if let Some(t) = &policy.repairer_delay
                && days - waiting > i64::from(t.days)
            {
                f.repairer_delay = Some(Delay { start, days: to_u32(days - waiting), waiting: to_u32(waiting) });
            }
        }
    }
    f.repair_days = to_u32(repair_days);
    f.repair_days_all = to_u32(repair_days_all);
    f.counted_repair_days = to_u32(counted);
    f.courtesy_days = to_u32(courtesy);
    f
}

struct Engine<'a> {
    policy: &'a Policy,
    req: &'a EvaluateRequest,
    f: Facts<'a>,
    granted: [Option<Ground<'a>>; 6],
    refused: [Option<Ground<'a>>; 6],
    considered: RemedySet,
    warnings: Vec<Warning>,
}

impl<'a> Engine<'a> {
    fn grant(&mut self, r: Remedy, g: Ground<'a>) {
        let slot = &mut self.granted[r.index()];
        if slot.is_none() {
            *slot = Some(g);
        }
    }

    fn refuse(&mut self, r: Remedy, g: Ground<'a>) {
        let slot = &mut self.refused[r.index()];
        if slot.is_none() {
            *slot = Some(g);
        }
    }

    fn is_granted(&self, r: Remedy) -> bool {
        self.granted[r.index()].is_some()
    }

    fn warranty_reason(&self) -> Reason {
        Reason::Warranty {
            day: self.f.day_in_cycle,
            months: self.f.months,
            ends: self.f.warranty_end,
            extension_days: self.f.extension_days,
            restarted: self.f.exchange,
            km: self.f.km,
            km_limit: self.policy.warranty.km_limit,
        }
    }

    fn warranty_ended(&self) -> Ground<'a> {
        Ground::new(
            &self.policy.warranty.clause,
            Reason::WarrantyEnded {
                day: self.f.day_in_cycle,
                ends: self.f.warranty_end,
                km: self.f.km,
                km_limit: self.policy.warranty.km_limit,
            },
        )
    }

    fn free_repair(&mut self) {
        let p = self.policy;
        if self.f.in_warranty {
            let restart = self.f.exchange.and(p.warranty.exchange_restart_clause.as_deref());
            let g = Ground::new(&p.warranty.clause, self.warranty_reason()).also(restart);
            self.grant(Remedy::FreeRepair, g);
        } else if let Some(t) = &p.post_repair
            && let Some(repaired) = self.f.last_same_fault_end
        {
            let until = add_days(repaired, i64::from(t.days));
            if self.req.request_date <= until {
                let reason = Reason::PostRepair { repaired, until, days: t.days };
                self.grant(Remedy::FreeRepair, Ground::new(&t.clause, reason));
            }
        }
    }

    fn window(&mut self, w: &'a WindowTerms) {
        let day = self.f.window_day;
        if day > w.days {
            return;
        }
        let kind = self.req.fault.kind;
        if w.fault_kinds.contains(&kind) {
            let reason = Reason::Window { day, days: w.days, kind, grants: RemedySet::from_slice(&w.grants) };
            for r in &w.grants {
                self.grant(*r, Ground::new(&w.clause, reason).basis(Basis::Full));
            }
        } else {
            let reason = Reason::WindowKind { day, days: w.days, kind };
            for r in &w.grants {
                self.refuse(*r, Ground::new(&w.clause, reason));
            }
        }
    }

    fn general(&mut self) {
        let p = self.policy;
        let req = self.req;
        let kind = req.fault.kind;
        let day = self.f.window_day;

        for w in [&p.refund_window, &p.exchange_window].into_iter().flatten() {
            self.window(w);
        }

        if let Some(t) = &p.return_terms
            && day <= t.within_days
        {
            let within = t.within_days;
            let full = |reason| Ground::new(&t.clause, reason).basis(Basis::Full);
            if t.safety && (kind == FaultKind::Safety || req.fault.serious_safety) {
                self.grant(Remedy::Refund, full(Reason::SafetyReturn { day, within }));
            }
            if t.nonconforming && req.found_nonconforming {
                self.grant(Remedy::Refund, full(Reason::NonconformingReturn { day, within }));
            }
            if let Some(n) = t.after_repairs_and_exchange
                && self.f.exchanges > 0
                && self.f.same_fault_repairs_all >= n
            {
                let reason = Reason::ReturnAfterExchange { day, within, repairs: self.f.same_fault_repairs_all };
                self.grant(Remedy::Refund, full(reason));
            }
        }

        if let Some(t) = &p.failed_repairs {
            let in_time = t.within_days.map_or(self.f.in_sanbao, |d| day <= d);
            if in_time && t.fault_kinds.contains(&kind) && self.f.same_fault_repairs >= t.repairs {
                let reason = Reason::FailedRepairs {
                    day,
                    repairs: self.f.same_fault_repairs,
                    needed: t.repairs,
                    within: t.within_days,
                    grants: RemedySet::from_slice(&t.grants),
                };
                for r in &t.grants {
                    let g = Ground::new(&t.clause, reason).basis(Basis::Depreciated);
                    let g = if *r == Remedy::Refund { g.also(Some(p.refund.clause.as_str())) } else { g };
                    self.grant(*r, g);
                }
            }
        }

        if self.f.in_sanbao {
            if let (Some(t), Some(d)) = (&p.parts_delay, self.f.parts_delay) {
                let reason = Reason::PartsDelay { started: d.start, days: d.days, limit: t.days, waiting: d.waiting };
                self.grant(Remedy::Exchange, Ground::new(&t.clause, reason));
            }
            if let (Some(t), Some(d)) = (&p.repairer_delay, self.f.repairer_delay) {
                let reason = Reason::RepairerDelay { started: d.start, days: d.days, limit: t.days };
                self.grant(Remedy::Exchange, Ground::new(&t.clause, reason));
            }
        }

        self.free_repair();

        // 458号 art. 13: when an exchange is due in the 三包 period (art. 11, 12) the consumer
        // may return instead. The 15-day window (art. 10) is read as exchange or repair only,
        // as R2.1 and common practice do; its refund comes only from a missing same model.
        if p.refund.on_exchange_grounds
            && !self.is_granted(Remedy::Refund)
            && let Some(ex) = self.granted[Remedy::Exchange.index()]
            && !matches!(ex.reason, Reason::Window { .. })
        {
            let g = Ground::new(ex.clause, Reason::RefundInsteadOfExchange)
                .item(ex.item)
                .also(Some(p.refund.clause.as_str()))
                .basis(Basis::Depreciated);
            self.grant(Remedy::Refund, g);
        }
    }

    fn vehicle(&mut self) {
        let p = self.policy;
        self.free_repair();
        let Some(vt) = &p.vehicle else {
            return;
        };
        let req = self.req;
        let fault = &req.fault;
        let day = self.f.window_day;
        let km = self.f.km.unwrap_or(0);
        let km_ok = |limit: Option<u64>| limit.is_none_or(|l| km <= l);
        let assembly_fault = fault.kind != FaultKind::Cosmetic
            && part_name(&fault.main_part).is_some()
            && fault.system.is_some_and(|s| vt.assembly_systems.contains(&s));

        if let Some(t) = &vt.assembly_swap {
            self.considered.insert(Remedy::AssemblyReplacement);
            match fault.system {
                Some(system) if assembly_fault && day <= t.days && km_ok(t.km) => {
                    let reason = Reason::AssemblySwap { day, km, days: t.days, km_limit: t.km, system };
                    self.grant(Remedy::AssemblyReplacement, Ground::new(&t.clause, reason));
                }
                _ => {
                    let reason =
                        Reason::AssemblySwapNotDue { day, km, days: t.days, km_limit: t.km, qualifies: assembly_fault };
                    self.refuse(Remedy::AssemblyReplacement, Ground::new(&t.clause, reason));
                }
            }
        }

        if let Some(t) = &vt.courtesy_car {
            self.considered.insert(Remedy::CourtesyCar);
            let after = t.after_days;
            match self.f.longest {
                Some(l) if self.f.in_warranty && l.days > after => {
                    let reason = Reason::CourtesyCar {
                        days: l.days,
                        after,
                        from: add_days(l.start, i64::from(after)),
                        in_progress: l.in_progress,
                    };
                    self.grant(Remedy::CourtesyCar, Ground::new(&t.clause, reason));
                }
                _ if !self.f.in_warranty => {
                    let g = self.warranty_ended();
                    self.refuse(Remedy::CourtesyCar, g);
                }
                longest => {
                    let reason = Reason::CourtesyNotDue { longest: longest.map_or(0, |l| l.days), after };
                    self.refuse(Remedy::CourtesyCar, Ground::new(&t.clause, reason));
                }
            }
        }

        let both = [Remedy::Exchange, Remedy::Refund];
        if let Some(t) = &vt.early_assembly_fault
            && let Some(system) = fault.system
            && assembly_fault
            && day <= t.days
            && km_ok(t.km)
        {
            let reason = Reason::EarlyAssemblyFault { day, days: t.days, system };
            for r in both {
                self.grant(r, Ground::new(&t.clause, reason).basis(Basis::Full));
            }
        }
        if let Some(t) = &vt.serious_failure
            && let Some(failure) = fault.failure
            && t.failures.contains(&failure)
            && day <= t.days
            && km_ok(t.km)
        {
            let reason = Reason::SeriousFailure { day, km, days: t.days, km_limit: t.km, failure };
            for r in both {
                self.grant(r, Ground::new(&t.clause, reason).basis(Basis::Full));
            }
        }
        if let Some(t) = &vt.repeat_failure
            && self.f.in_sanbao
        {
            let f = &self.f;
            let item = if fault.serious_safety && f.serious_repairs >= t.serious_safety_repairs {
                Some((
                    "(1)",
                    Reason::SeriousSafetyRepairs { repairs: f.serious_repairs, needed: t.serious_safety_repairs },
                ))
            } else if let Some(system) = fault.system
                && vt.assembly_systems.contains(&system)
                && f.assembly_replacements >= t.assembly_replacements
            {
                Some((
                    "(2)",
                    Reason::AssemblyReplaced {
                        system,
                        times: f.assembly_replacements,
                        needed: t.assembly_replacements,
                    },
                ))
            } else if let Some(system) = fault.system
                && t.main_part_systems.contains(&system)
                && part_name(&fault.main_part).is_some()
                && f.part_replacements >= t.main_part_replacements
            {
                Some((
                    "(3)",
                    Reason::MainPartReplaced { system, times: f.part_replacements, needed: t.main_part_replacements },
                ))
            } else if f.counted_repair_days > t.total_repair_days_over {
                Some(("(4)", Reason::RepairDaysOver { days: f.counted_repair_days, limit: t.total_repair_days_over }))
            } else if f.same_fault_repairs > t.same_fault_repairs_over {
                Some((
                    "(4)",
                    Reason::SameFaultRepairsOver { repairs: f.same_fault_repairs, limit: t.same_fault_repairs_over },
                ))
            } else {
                None
            };
            if let Some((item, reason)) = item {
                for r in both {
                    let g = Ground::new(&t.clause, reason).item(item).basis(Basis::Compensated);
                    self.grant(r, g);
                }
            }
        }
    }

    /// An exchange needs a product of the same model; without one it becomes a refund where
    /// the policy says so (458号 art. 13, seed §return).
    fn same_model(&mut self) {
        if self.req.same_model_available != Some(false) {
            return;
        }
        let Some(ex) = self.granted[Remedy::Exchange.index()].take() else {
            return;
        };
        self.refused[Remedy::Exchange.index()] =
            Some(Ground { reason: Reason::NoSameModelExchange, basis: Basis::None, ..ex });
        let refund = &self.policy.refund;
        if refund.when_no_same_model {
            let g = Ground::new(ex.clause, Reason::NoSameModelRefund)
                .item(ex.item)
                .also(Some(refund.clause.as_str()))
                .basis(Basis::Full);
            self.grant(Remedy::Refund, g);
        }
    }

    fn exclusions(&mut self) {
        let Some(first) = self.req.exclusions.first() else {
            return;
        };
        let mut distinct = 0u8;
        for (i, x) in self.req.exclusions.iter().enumerate() {
            if !self.req.exclusions[..i].contains(x) {
                distinct = distinct.saturating_add(1);
            }
        }
        let clause = self.policy.exclusion(*first).map_or(self.policy.warranty.clause.as_str(), |t| t.clause.as_str());
        let g = Ground::new(clause, Reason::Excluded { exclusion: *first, count: distinct });
        for r in Remedy::ALL.into_iter().filter(|r| r.is_free()) {
            self.granted[r.index()] = None;
            self.refused[r.index()] = Some(g);
        }
        self.granted[Remedy::PaidRepair.index()] = Some(g);
    }

    fn paid_repair(&mut self) {
        match self.granted[Remedy::FreeRepair.index()] {
            Some(free) => self.refuse(Remedy::PaidRepair, Ground::new(free.clause, Reason::FreeRepairApplies)),
            None => {
                let g = self.warranty_ended();
                self.grant(Remedy::PaidRepair, g);
            }
        }
    }

    /// The explanation for remedies that no rule granted and no rule explicitly refused.
    fn default_refusals(&mut self) {
        let p = self.policy;
        let day = self.f.window_day;
        if !self.is_granted(Remedy::FreeRepair) {
            let g = self.warranty_ended();
            self.refuse(Remedy::FreeRepair, g);
        }
        if p.family == PolicyFamily::Vehicle {
            let clause = p
                .vehicle
                .as_ref()
                .and_then(|v| v.repeat_failure.as_ref())
                .map(|t| t.clause.as_str())
                .or(p.sanbao.as_ref().map(|s| s.clause.as_str()))
                .unwrap_or(&p.warranty.clause);
            let g = if self.f.in_sanbao {
                let f = &self.f;
                Ground::new(
                    clause,
                    Reason::VehicleNotDue {
                        day,
                        km: f.km.unwrap_or(0),
                        serious: f.serious_repairs,
                        assembly: f.assembly_replacements,
                        part: f.part_replacements,
                        repair_days: f.counted_repair_days,
                        same_fault: f.same_fault_repairs,
                    },
                )
            } else {
                let (clause, limit) = match &p.sanbao {
                    Some(s) => (s.clause.as_str(), s.km_limit),
                    None => (p.warranty.clause.as_str(), p.warranty.km_limit),
                };
                Ground::new(
                    clause,
                    Reason::SanbaoEnded {
                        ends: self.f.sanbao_end.unwrap_or(self.f.warranty_end),
                        km: self.f.km,
                        km_limit: limit,
                    },
                )
            };
            self.refuse(Remedy::Exchange, g);
            self.refuse(Remedy::Refund, g);
            return;
        }

        if !self.f.in_warranty {
            let g = self.warranty_ended();
            self.refuse(Remedy::Refund, g);
            self.refuse(Remedy::Exchange, g);
            return;
        }
        fn grants(w: &Option<WindowTerms>, r: Remedy) -> Option<&WindowTerms> {
            w.as_ref().filter(|w| w.grants.contains(&r))
        }
        let failed = p.failed_repairs.as_ref();
        let failed_for = |r: Remedy| failed.filter(|t| t.grants.contains(&r));
        let repairs = self.f.same_fault_repairs;

        let refund_window = grants(&p.refund_window, Remedy::Refund).or(grants(&p.exchange_window, Remedy::Refund));
        let refund_needed =
            failed_for(Remedy::Refund).or(failed.filter(|_| p.refund.on_exchange_grounds)).map(|t| t.repairs);
        let clause = refund_window
            .map(|w| w.clause.as_str())
            .or(p.return_terms.as_ref().map(|t| t.clause.as_str()))
            .or(failed_for(Remedy::Refund).map(|t| t.clause.as_str()))
            .unwrap_or(&p.refund.clause);
        let reason = Reason::RefundNotDue {
            day,
            window: refund_window.map(|w| w.days),
            repairs,
            needed: refund_needed,
            return_days: p.return_terms.as_ref().map(|t| t.within_days),
        };
        self.refuse(Remedy::Refund, Ground::new(clause, reason));

        let exchange_window =
            grants(&p.exchange_window, Remedy::Exchange).or(grants(&p.refund_window, Remedy::Exchange));
        let exchange_rule = failed_for(Remedy::Exchange);
        let clause = exchange_window
            .map(|w| w.clause.as_str())
            .or(exchange_rule.map(|t| t.clause.as_str()))
            .unwrap_or(&p.warranty.clause);
        let reason = Reason::ExchangeNotDue {
            day,
            window: exchange_window.map(|w| w.days),
            repairs,
            needed: exchange_rule.map(|t| t.repairs),
            within: exchange_rule.and_then(|t| t.within_days),
        };
        self.refuse(Remedy::Exchange, Ground::new(clause, reason));
    }

    fn rate(&self) -> Option<f64> {
        self.req
            .depreciation_per_day
            .or(self.f.category.and_then(|c| c.depreciation_per_day))
            .or(self.policy.refund.depreciation_per_day)
    }

    fn amount(&mut self, basis: Basis, with_refund: bool) -> Option<Amount> {
        let price = self.req.price_cents.max(0);
        let full = Amount {
            price_cents: price,
            refund_cents: Some(price),
            deduction_cents: Some(0),
            basis: AmountBasis::FullPrice,
        };
        let deducted = |deduction: f64, basis| {
            let d = (deduction.round().max(0.0) as i64).min(price);
            Amount {
                price_cents: price,
                refund_cents: with_refund.then_some(price - d),
                deduction_cents: Some(d),
                basis,
            }
        };
        let missing = |basis| Amount { price_cents: price, refund_cents: None, deduction_cents: None, basis };
        match basis {
            Basis::None | Basis::Full => with_refund.then_some(full),
            Basis::Depreciated => {
                let deduct = self.policy.refund.deduct_depreciation && self.req.same_model_available != Some(false);
                if !with_refund {
                    None
                } else if !deduct {
                    Some(full)
                } else if let Some(rate) = self.rate() {
                    let days_used = self.f.day_since_sale.saturating_sub(self.f.repair_days_all);
                    let basis = AmountBasis::Depreciation { days_used, rate };
                    Some(deducted(price as f64 * rate * f64::from(days_used), basis))
                } else {
                    self.warnings.push(Warning::MissingDepreciationRate);
                    Some(missing(AmountBasis::MissingRate))
                }
            }
            Basis::Compensated => {
                let default_n = self.policy.vehicle.as_ref().and_then(|v| v.compensation.default_n);
                match self.req.usage_rate_n.or(default_n) {
                    Some(n) => {
                        let km = self.f.km.unwrap_or(0);
                        let basis = AmountBasis::Usage { km, n };
                        Some(deducted(price as f64 * km as f64 / 1000.0 * n, basis))
                    }
                    None => {
                        if !self.warnings.contains(&Warning::MissingUsageRate) {
                            self.warnings.push(Warning::MissingUsageRate);
                        }
                        Some(missing(AmountBasis::MissingN))
                    }
                }
            }
        }
    }

    fn rule(&self, g: &Ground<'_>) -> Citation {
        let p = self.policy;
        let mut c = Citation::builder();
        c.push(p.citation.as_deref().unwrap_or(&p.code));
        if p.cite_version {
            c.push(" v");
            c.push_u32(p.version);
        }
        c.push(" ");
        c.push(g.clause);
        c.push(g.item);
        if let Some(also) = g.also
            && also != g.clause
        {
            c.push(", ");
            c.push(also);
        }
        c.finish()
    }

    fn finish(&mut self) -> Evaluation {
        let refund_amount = match self.granted[Remedy::Refund.index()] {
            Some(g) => self.amount(g.basis, true),
            None => None,
        };
        let exchange_amount = match self.granted[Remedy::Exchange.index()] {
            Some(g) if g.basis == Basis::Compensated => self.amount(g.basis, false),
            _ => None,
        };

        let mut remedies = Vec::with_capacity(6);
        let mut decisions = Vec::with_capacity(6);
        for r in self.considered.iter() {
            let (granted, g) = match (self.granted[r.index()], self.refused[r.index()]) {
                (Some(g), _) => (true, g),
                (None, Some(g)) => (false, g),
                // Every considered remedy gets a refusal in `default_refusals`.
                (None, None) => continue,
            };
            if granted {
                remedies.push(r);
            }
            let amount = match (granted, r) {
                (true, Remedy::Refund) => refund_amount,
                (true, Remedy::Exchange) => exchange_amount,
                _ => None,
            };
            decisions.push(Decision { remedy: r, granted, rule: self.rule(&g), reason: g.reason, amount });
        }
        let money = refund_amount.or(exchange_amount);
        let p = self.policy;
        let f = &self.f;
        let window_end = |w: &Option<WindowTerms>| {
            w.as_ref().map(|w| {
                let start = if p.windows_restart_on_exchange { f.cycle_start } else { f.sale };
                add_days(start, i64::from(w.days) - 1)
            })
        };
        Evaluation {
            policy: p.code.clone(),
            policy_version: p.version,
            family: p.family,
            remedies,
            warranty_starts: f.cycle_start,
            warranty_ends: f.warranty_end,
            warranty_months: f.months,
            warranty_km_limit: p.warranty.km_limit,
            sanbao_ends: f.sanbao_end,
            sanbao_km_limit: p.sanbao.as_ref().and_then(|s| s.km_limit),
            refund_window_ends: window_end(&p.refund_window),
            exchange_window_ends: window_end(&p.exchange_window),
            in_warranty: f.in_warranty,
            in_sanbao: f.in_sanbao,
            days_since_sale: f.day_since_sale,
            day_in_period: f.day_in_cycle,
            repair_days: f.repair_days,
            counted_repair_days: (p.family == PolicyFamily::Vehicle).then_some(f.counted_repair_days),
            extension_days: f.extension_days,
            same_fault_repairs: f.same_fault_repairs,
            courtesy_car_days: if self.is_granted(Remedy::CourtesyCar) { f.courtesy_days } else { 0 },
            refund_cents: refund_amount.and_then(|a| a.refund_cents),
            deduction_cents: money.and_then(|a| a.deduction_cents),
            decisions,
            warnings: std::mem::take(&mut self.warnings),
        }
    }
}

/// Decides a validated request.
pub(crate) fn run(
    policy: &Policy,
    req: &EvaluateRequest,
    pre: &[Prepared],
    category: Option<&CategoryTerms>,
) -> Evaluation {
    let mut warnings = Vec::new();
    let f = facts(policy, req, pre, category, &mut warnings);
    let mut engine = Engine {
        policy,
        req,
        f,
        granted: [None; 6],
        refused: [None; 6],
        considered: RemedySet::from_slice(&[Remedy::Refund, Remedy::Exchange, Remedy::FreeRepair, Remedy::PaidRepair]),
        warnings,
    };
    match policy.family {
        PolicyFamily::General => engine.general(),
        PolicyFamily::Vehicle => engine.vehicle(),
    }
    engine.same_model();
    engine.exclusions();
    engine.paid_repair();
    engine.default_refusals();
    engine.finish()
}
