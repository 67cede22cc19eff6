import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// `companion-bench run`: sets up, runs the chosen sections in a fixed order, prints the
/// table (Markdown on stdout, or one JSON object with --json; progress on stderr) and
/// removes its temporary directory. Exit 0 when every section ran (missed targets are
/// reported, not failures), 1 when a section failed, 64 for a usage error.
enum BenchRun {
    static func main(_ arguments: [String]) -> Int32 {
        Signals.ignoreBrokenPipe()
        let options: BenchOptions
        do { options = try BenchOptions.parse(arguments) } catch {
            printError("companion-bench: \(error)\n" + BenchOptions.usage)
            return 64
        }
        let setup: BenchSetup
        do { setup = try BenchSetup.make(options) } catch {
            printError("companion-bench: \(error)")
            return 1
        }
        let machine = Machine.describe()
        let date = Machine.today()
        progress("companion-bench: \(machine)")
        progress("  binaries: \(setup.binDir)")
        progress("  checkout: \(setup.repoRoot)")
        progress("  scratch:  \(setup.root)")

        let results = BenchResults()
        let sections: [(String, (BenchSetup, BenchOptions, BenchResults) throws -> Void)] = [
            ("hook", HookSection.run),
            ("status", StatusSection.run),
            ("task", TaskSection.run),
            ("contention", ContentionSection.run),
            ("worktree", WorktreeSection.run),
            ("attempts", AttemptsSection.run),
            ("turn", TurnSection.run),
        ]
        for (name, run) in sections where options.wants(name) {
            progress("[\(name)]")
            let elapsed = timed {
                do { try run(setup, options, results) } catch { results.fail(name, error) }
            }
            progress("  (\(name) took \(Format.fixed(elapsed / 1000, 1)) s)")
        }

        let companion =
            "\(setup.binDir), checkout \(checkoutDescription(setup)) (\(setup.binDir.contains("/release") ? "release" : setup.binDir.contains("/debug") ? "DEBUG build: figures not representative" : "build type unknown"))"
        if options.json {
            let report = BenchReport(
                date: date, machine: machine, binaries: companion, rows: results.rows,
                notes: results.notes, failures: results.failures)
            if let text = try? JSONCoding.encodeString(report, pretty: true) { print(text) }
        } else {
            print(results.markdown(date: date, machine: machine, companion: companion), terminator: "")
        }

        if options.keep {
            progress("kept \(setup.root)")
        } else if let error = Result(catching: { try FileSystem.removeTree(setup.root) }).failureValue {
            progress("warning: could not remove \(setup.root): \(error)")
        }
        return results.failures.isEmpty ? 0 : 1
    }
}

/// The commit the checkout is at, and whether it has uncommitted changes.
func checkoutDescription(_ setup: BenchSetup) -> String {
    guard let git = try? setup.git(),
        let head = try? git.text(["rev-parse", "--short", "HEAD"], in: setup.repoRoot, reading: true)
    else { return "(not a git checkout)" }
    let dirty =
        (try? git.text(["status", "--porcelain", "--untracked-files=no"], in: setup.repoRoot, reading: true)) ?? ""
    return head + (dirty.isEmpty ? "" : " + uncommitted changes")
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
