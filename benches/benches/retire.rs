//! Retirement, paired: each of `ROUNDS` rounds runs the three ways of retiring
//! 10,000 owned entries (`tenure_bench::retire`) back to back, starting with a
//! different one each round, and divides each time by the hand-written loop's
//! time of the same round, so a slower or faster stretch of the machine falls
//! on both sides of a ratio. (The `caches` bench times the same runs with
//! criterion, one way after another, each in its own benchmark.) Prints
//! Markdown.

use tenure_bench::{retire, runtime};

/// Rounds counted (one more, first, is not: the allocator and the runtime warm up).
const ROUNDS: usize = 31;

fn main() {
    let rt = runtime(2);
    let runs = retire::RUNS;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    rt.block_on(async {
        for (_, run) in runs {
            run().await;
        }
        for round in 0..ROUNDS {
            for offset in 0..runs.len() {
                let which = (round + offset) % runs.len();
                times[which].push(runs[which].1().await.as_secs_f64() * 1e3);
            }
        }
    });
    let loop_times = &times[runs.len() - 1];
    println!(
        "### Retirement, paired: {ROUNDS} rounds, each running the three back to back; \
         median (min – max) over the rounds"
    );
    println!();
    println!("| | ms | / the loop's time in the same round |");
    println!("|---|---:|---:|");
    for ((name, _), ms) in runs.iter().zip(&times) {
        let (median, min, max) = tenure_bench::median_min_max(&mut ms.clone());
        let ratio = tenure_bench::paired(ms, loop_times);
        println!("| {name} | {median:.2} ({min:.2} – {max:.2}) | {ratio} |");
    }
    println!();
}
