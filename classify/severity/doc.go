// Package severity scores incidents and campaigns: it turns what correlation
// knows (Facts) into the eight NCISS factor values (Factors), a weighted
// score, a level 0..5 after gates, and a candidacy status, with an
// explanation of every step (Assessment). It implements the default policy
// of severity-model.md §6 and reproduces its §7 worked examples.
//
// It is pure: no Kafka, no HTTP, no clock, no metrics. It imports only the
// leaf packages assets and intel, for their sector and actor-kind names.
//
// # Policy
//
// A Policy is a versioned YAML file; default.yaml is embedded and returned
// by Default. A policy file must name itself (name, version) and may
// override any weight, option value, band, threshold or timing; the rest
// comes from the default. Decoding is strict and every problem is reported at
// once with file, line and column.
//
// # Score and level
//
// S = Σ wᵢ·Fᵢ / Σ wᵢ over the eight factors, rounded to 0.1; the level is
// the highest band whose lower bound S reaches (default 25/40/55/70/85 for
// levels 1..5). Gates then apply in this order, each noted in
// Assessment.Gates when it changes the level or holds it at its bound:
//
//   - recon cap: stage prepare or engage → at most level 2;
//   - presence cap: stage presence (no effect) → at most level 3;
//   - L5 gate: level 5 needs a physical or safety effect (T0879/T0880, a
//     confirmed physical consequence, or activity at location L7) or
//     wide-scale disruption (an effect with N_o ≥ 10 or N_s ≥ 3), else 4;
//   - floors: an effect on a tier-1 target with functional impact ≥ 70 is
//     at least level 3; a physical or safety consequence at least level 4.
//
// # Candidacy
//
// Level 3 and up is "significant". Conditions (a)-(d) of §6.4 make a
// candidate for consultation: (a) level ≥ 4 after gates; (b) a qualifying
// effect: T1485, T1561.*, T1495, T0809, T0813, T0826, T0827, T0831, T0837,
// T0879, T0880; T1490 or T1486 together with other destruction (recovery
// inhibited, so no way back); T1529 at location L5 or deeper; a confirmed
// physical consequence; or a denial (T1498/T1499) of a tier-1 service that
// has lasted 24h or more (Facts.DenialFor); (c) a tier-1 or government or
// defence target; (d) a physical consequence, or a concerted campaign
// (Concerted, or two or more source clusters) against three or more tier-1
// organisations or two or more tier-1 sectors. With all four, a state-nexus
// confidence at or above the threshold gives "armed-attack-candidate",
// anything less "armed-attack-candidate-pending-attribution". A case
// without an effect, reconnaissance however large included, is never a
// candidate. No text produced here states that an armed attack took place:
// the decision belongs to people, case by case, in consultation. At level 3
// and up the assessment carries the conditions with their findings and the
// Tallinn checklist (severity, immediacy, directness, invasiveness,
// measurability, military character, state involvement, presumptive
// legality).
//
// # Derivation heuristics (Derive)
//
// Technique ids are compared without their sub-technique suffix (T1561.002
// counts as T1561). A target tier outside 1..4 counts as tier 3.
//
// Stage (observed activity: none 0, prepare 40, engage 70, presence 80,
// effect 100) is the most advanced of:
//   - effect: a destructive class, a TA0040/TA0105/TA0106/TA0107 tactic, any
//     technique of those tactics (§3's tables), or Facts.Physical;
//   - presence: a tactic past initial access (TA0002..TA0011, ICS TA0100..
//     TA0104, TA0109..TA0111; discovery TA0007/TA0102 included);
//   - engage: TA0001 or ICS TA0108, or the intrusion class;
//   - prepare: TA0043 or TA0042, or the reconnaissance class.
//
// When Facts.Tactics is empty, techniques stand in for tactics: discovery
// techniques mean presence, common initial-access techniques engage,
// reconnaissance techniques prepare. When tactics are given they decide, so
// a discovery technique seen from outside stays reconnaissance.
//
// Functional impact: destruction (T1485, T1486, T1561, T1495, T1490, T0809),
// denial (T1498, T1499, T0813, T0814, T0826, T0827, T0831) or a physical
// consequence → denial of critical services 100 on tier 1–2, significant
// impact to critical services 70 on tier 3–4; service stop alone (T1489,
// T0881, T1529) → 70 on tier 1–2, 50 otherwise; otherwise no impact 0 (the
// NCISS default until a sensor or analyst says more).
//
// Location: prepare stage → L1 30 (external reconnaissance is seen at the
// perimeter, whatever the target); otherwise the asset location level L1..L7
// → 30, 40, 60, 70, 80, 90, 100; unknown → 50.
//
// Actor: the intelligence kind's value (hacktivist 20, insider-unwitting
// 30, criminal 40, unknown 50, insider-witting 65, apt 80, apt-targeted
// 100); "" or an unlisted kind → unknown 50.
//
// Information impact, the highest of: a wiper (T1561, T1485, T1495, T0809)
// on tier 1–2 → destruction of a critical system 100; any destruction →
// destruction of a non-critical system 60; an ICS impact, inhibit response
// or impair process technique → critical-system data breach 70; else 0.
//
// Recoverability: destruction, ICS effect or physical consequence →
// extended 60; denial → supplemented 40; else regular 20.
//
// Cross-sector dependency: the highest policy value over the target
// sectors; sectors the policy does not list (by default commercial and
// unknown) count 0.
//
// Potential impact: tier 1 high 75, tier 2 moderate 50, tier 3 low 25, tier
// 4 minimal 0; one bucket up for N_o ≥ 3, N_s ≥ 2 or a concerted campaign,
// one more for N_o ≥ 10 or N_s ≥ 3, capped at severe 100. A physical or
// safety consequence makes it severe 100 outright: harm to people or plant
// is the gravest potential there is. This is what lifts §7 example 5's
// variant from 82.1 to 86.5 and so to level 5.
package severity
