// A development tool, not part of the product: it calls libc directly for timing
// and fixtures. The product's targets reach libc only through CompanionSystem.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

// `companion-bench run`: every measurement of the README's Performance section, taken in
// one run so machine load affects the measured command and its floor alike. Each section
// interleaves its cases (the order rotates from one round to the next) after one untimed
// warm-up round. Timings are wall time from just before the spawn to just after the wait.

/// What `run` was asked for.
struct BenchOptions {
    static let sections = ["hook", "status", "task", "contention", "worktree", "attempts", "turn"]

    var runs: Int?
    var only: Set<String> = []
    var json = false
    var repo: String?
    var keep = false

    static let usage = """
        usage: companion-bench [run] [--runs N] [--only hook|status|task|contention|worktree|attempts|turn]...
                               [--repo <dir>] [--json] [--keep]
               companion-bench store-writer --state-dir D --workspace W --job ID --updates N --tag T [--delay-ms MS]

          run (the default)  measure everything and print a Markdown table (or JSON with --json)
          --runs N           timed rounds per section (default: hook 100, status 30, task 20,
                             contention 5, worktree 5, attempts 5 (3 for the launch), turn 10)
          --only NAME        run only this section (repeatable, or comma-separated)
          --repo DIR         the codex-companion checkout (default: found from this executable)
          --keep             keep the temporary directory and print its path
        Environment: CODEX_COMPANION_BENCH_CODEX (codex for the turn section; else codex on PATH,
        else .ci-work/venv/bin/codex from .ci/run; none: the turn runs against fake-codex, noted in the output).
        """

    static func parse(_ arguments: [String]) throws(BenchFailure) -> BenchOptions {
        var options = BenchOptions()
        var index = 0
        func value(_ name: String) throws(BenchFailure) -> String {
            index += 1
            guard index < arguments.count else { throw BenchFailure("\(name) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--runs":
                let text = try value(argument)
                guard let runs = Int(text), runs > 0 else {
                    throw BenchFailure("--runs needs a positive number, not \(text)")
                }
                options.runs = runs
            case "--only":
                for name in try value(argument).split(separator: ",").map(String.init) {
                    guard sections.contains(name) else {
                        throw BenchFailure(
                            "--only: unknown section \(name) (one of \(sections.joined(separator: ", ")))")
                    }
                    options.only.insert(name)
                }
            case "--repo": options.repo = try value(argument)
            case "--json": options.json = true
            case "--keep": options.keep = true
            default: throw BenchFailure("unknown argument \(argument)")
            }
            index += 1
        }
        return options
    }

    func wants(_ section: String) -> Bool { only.isEmpty || only.contains(section) }
    func runs(default count: Int) -> Int { runs ?? count }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - statistics and formatting

enum Stats {
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

enum Format {
    /// Milliseconds: two decimals below 10 ms, one below 1000 ms, none above.
    static func ms(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        if value < 10 { return fixed(value, 2) + " ms" }
        if value < 1000 { return fixed(value, 1) + " ms" }
        return fixed(value, 0) + " ms"
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "—" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            var fraction = String(scaled % Int64(scale))
            while fraction.count < decimals { fraction = "0" + fraction }
            text += "." + fraction
        }
        return text
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

// MARK: - results

/// One line of the table: the samples of what was measured and, paired with them, of its
/// floor; every figure is worked out from them.
struct BenchRow {
    var section: String
    var name: String
    /// One sample a timed round, in milliseconds.
    var samples: [Double]
    var floorName: String?
    /// The floor's samples: `floor[i]` ran in the same round as `samples[i]`, back to back.
    var floor: [Double]
    /// How `ratio` is shown: "x" (times) or "%".
    var ratioStyle: String
    var target: String
    /// nil when the row has no target.
    var met: Bool?
    var detail: String?

    init(
        section: String, name: String, samples: [Double], floorName: String? = nil, floor: [Double]? = nil,
        ratioStyle: String = "x", target: String = "—", met: Bool? = nil, detail: String? = nil
    ) {
        self.section = section
        self.name = name
        self.samples = samples
        self.floorName = floorName
        self.floor = floor ?? []
        self.ratioStyle = ratioStyle
        self.target = target
        self.met = met
        self.detail = detail
    }

    var runs: Int { samples.count }
    var medianMs: Double? { samples.isEmpty ? nil : Stats.median(samples) }
    var p90Ms: Double? { samples.isEmpty ? nil : Stats.percentile(samples, 90) }
    var floorMedianMs: Double? { floor.isEmpty ? nil : Stats.median(floor) }

    // Paired: sample i and floor sample i ran in the same round, back to back, so they saw
    // the same machine load; the medians of their ratios and differences are steadier than
    // ratios of medians on a busy machine.

    /// Median over rounds of sample / floor sample of the same round.
    var ratio: Double? {
        let ratios = zip(samples, floor).compactMap { $0.1 > 0 ? $0.0 / $0.1 : nil }
        return ratios.isEmpty ? nil : Stats.median(ratios)
    }

    /// Median over rounds of sample − floor sample of the same round.
    var overheadMs: Double? {
        floor.isEmpty || samples.isEmpty ? nil : Stats.median(zip(samples, floor).map { $0.0 - $0.1 })
    }

    var ratioText: String {
        guard let ratio else { return "—" }
        return ratioStyle == "%" ? Format.fixed(ratio * 100, 0) + "%" : Format.fixed(ratio, 1) + "×"
    }

    var overheadText: String {
        guard let difference = overheadMs else { return "—" }
        return (difference >= 0 ? "+" : "−") + Format.ms(abs(difference))
    }

    var resultText: String {
        switch met {
        case true?: return "met"
        case false?: return "**MISSED**"
        case nil: return "—"
        }
    }
}

/// The row in `--json`: its figures (the samples are not printed).
extension BenchRow: Encodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        let fields: [(String, (any Encodable)?)] = [
            ("section", section), ("name", name), ("runs", runs), ("medianMs", medianMs), ("p90Ms", p90Ms),
            ("floorName", floorName), ("floorMedianMs", floorMedianMs), ("ratio", ratio),
            ("overheadMs", overheadMs), ("ratioStyle", ratioStyle), ("target", target), ("met", met),
            ("detail", detail),
        ]
        var container = encoder.container(keyedBy: Key.self)
        for case (let key, let value?) in fields {
            try container.encode(value, forKey: Key(stringValue: key))
        }
    }
}

struct BenchReport: Encodable {
    var date: String
    var machine: String
    var binaries: String
    var rows: [BenchRow]
    var notes: [String]
    var failures: [String]
}

/// Collects rows, notes and failures as the sections run.
final class BenchResults {
    var rows: [BenchRow] = []
    var notes: [String] = []
    var failures: [String] = []

    func add(_ row: BenchRow) {
        rows.append(row)
        let floor =
            row.floorMedianMs.map {
                ", \(row.floorName ?? "floor") \(Format.ms($0)), \(row.ratioText), \(row.overheadText)"
            } ?? ""
        let median = row.medianMs.map(Format.ms) ?? "—"
        progress("  \(row.name): median \(median)\(floor)\(row.met == false ? "  (target \(row.target) MISSED)" : "")")
    }

    func note(_ text: String) {
        notes.append(text)
        progress("  note: " + text)
    }

    func fail(_ section: String, _ error: any Error) {
        failures.append("\(section): \(error)")
        progress("  FAILED: \(section): \(error)")
    }

    func markdown(date: String, machine: String, companion: String) -> String {
        var lines = [
            "## codex-companion benchmark — \(date)", "",
            "Machine: \(machine). Binaries: \(companion).", "",
            "| Measurement | Runs | Median | p90 | Floor / raw git | Floor median | Ratio | Overhead | Target | Result |",
            "|---|---:|---:|---:|---|---:|---:|---:|---|---|",
        ]
        for row in rows {
            let cells = [
                row.name, String(row.runs), row.medianMs.map(Format.ms) ?? "—", row.p90Ms.map(Format.ms) ?? "—",
                row.floorName ?? "—", row.floorMedianMs.map(Format.ms) ?? "—", row.ratioText, row.overheadText,
                row.target,
                row.resultText + (row.detail.map { " (\($0))" } ?? ""),
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        lines += [
            "",
            "Ratio and overhead are paired: the median over rounds of (measured ÷ floor) and (measured − floor), "
                + "each pair run back to back in the same round; medians and p90 are over rounds.",
        ]
        if !notes.isEmpty {
            lines += ["", "Notes:"]
            lines += notes.map { "- " + $0 }
        }
        if !failures.isEmpty {
            lines += ["", "FAILURES:"]
            lines += failures.map { "- " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

func progress(_ text: String) {
    try? FileDescriptorIO.writeAll(2, Array((text + "\n").utf8))
}

// MARK: - interleaved rounds

/// One thing measured in a section: `run` does its own untimed preparation and cleanup
/// and returns the timed part in milliseconds.
struct BenchCase {
    var name: String
    var run: (_ round: Int) throws -> Double
}

/// Runs one untimed warm-up round, then `runs` timed rounds; in each round every case runs
/// once, starting at a different case each round so none always goes first.
func interleave(_ cases: [BenchCase], runs: Int, label: String) throws -> [String: [Double]] {
    var samples: [String: [Double]] = [:]
    for item in cases { _ = try item.run(-1) }
    for round in 0..<runs {
        for offset in 0..<cases.count {
            let item = cases[(round + offset) % cases.count]
            samples[item.name, default: []].append(try item.run(round))
        }
        if runs >= 10 && (round + 1) % max(runs / 5, 1) == 0 { progress("  \(label): \(round + 1)/\(runs)") }
    }
    return samples
}

/// Milliseconds taken by `body`.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = MonotonicClock.now()
    try body()
    return (MonotonicClock.now() - start) * 1000
}

// MARK: - processes and files

/// Runs a command to completion (stdin fed, stdout and stderr drained) and times it.
func timedRun(_ request: SpawnRequest, input: [UInt8]? = nil) throws -> (ms: Double, output: ProcessOutput) {
    let start = MonotonicClock.now()
    let output = try Subprocess.run(request, input: input, timeout: 600)
    return ((MonotonicClock.now() - start) * 1000, output)
}

/// Runs a command that must succeed; returns its output.
@discardableResult
func mustRun(
    _ executable: String, _ arguments: [String], in directory: String? = nil,
    environment: [String: String]? = nil, input: [UInt8]? = nil
) throws -> ProcessOutput {
    let request = SpawnRequest(
        executable: executable, arguments: arguments, environment: environment, directory: directory, grouping: .inherit
    )
    let output = try Subprocess.run(request, input: input, timeout: 600)
    guard output.status.isSuccess else {
        throw BenchFailure(
            "\(([executable] + arguments).joined(separator: " ")) failed (\(output.status)): \(output.stderrText.suffix(600))"
        )
    }
    return output
}

enum Files {
    /// Creates or truncates `path` and writes `bytes` (no fsync: test data, not state).
    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError.current("open", path: path) }
        defer { close(fd) }
        try FileDescriptorIO.writeAll(fd, bytes, path: path)
    }

    static func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        try FileSystem.createDirectory(path, mode: 0o755)
    }

    /// A new private directory under $TMPDIR (or /tmp), its real path.
    static func temporaryDirectory(prefix: String) throws -> String {
        let base = ProcessEnvironment.value("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/" + prefix + ".XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard made != nil else { throw SystemError.current("mkdtemp", path: base) }
        let path = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
        return FileSystem.realPath(path) ?? path
    }
}

// MARK: - the machine

enum Machine {
    static func describe() -> String {
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let bytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        let gib = bytes / 1024 / 1024 / 1024
        var os = "unknown OS"
        if let data = try? FileSystem.read("/etc/os-release") {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n")
            where line.hasPrefix("PRETTY_NAME=") {
                os = String(line.dropFirst("PRETTY_NAME=".count)).replacingQuotes()
            }
        }
        var load = ""
        if let data = try? FileSystem.read("/proc/loadavg") {
            let fields = String(decoding: data, as: UTF8.self).split(separator: " ")
            if fields.count >= 3 { load = ", load average \(fields[0]) \(fields[1]) \(fields[2]) at start" }
        }
        return "\(cores) cores, \(Format.fixed(gib, 0)) GiB, \(os), \(compiler)\(load)"
    }

    static var compiler: String {
        #if compiler(>=6.3)
            return "built with Swift 6.3 or later"
        #elseif compiler(>=6.2)
            return "built with Swift 6.2"
        #elseif compiler(>=6.1)
            return "built with Swift 6.1"
        #else
            return "built with Swift 6.0"
        #endif
    }

    static func today() -> String {
        let text = Timestamp.now()
        return String(text.prefix(10))
    }
}

extension String {
    func replacingQuotes() -> String { String(filter { $0 != "\"" }) }
}
