import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// companion-bench: the benchmark command (see the README's Performance section) and
/// the store-writer used by the contention benchmark and the reliability tests.
///
///     companion-bench [run] [--runs N] [--only SECTION] [--repo DIR] [--json] [--keep]
///     companion-bench store-writer --state-dir D --workspace W --job ID --updates N --tag T
let arguments = Array(CommandLine.arguments.dropFirst())

func options(_ list: ArraySlice<String>) -> [String: String] {
    var result: [String: String] = [:]
    var index = list.startIndex
    while index < list.endIndex {
        let key = list[index]
        if index + 1 < list.endIndex, !list[index + 1].hasPrefix("--") {
            result[key] = list[index + 1]
            index += 2
        } else {
            result[key] = "true"
            index += 1
        }
    }
    return result
}

switch arguments.first {
case "store-writer":
    CurrentProcess.exit(StoreWriter.run(options(arguments.dropFirst())))
case "help", "--help", "-h":
    print(BenchOptions.usage)
    CurrentProcess.exit(0)
case "run":
    CurrentProcess.exit(BenchRun.main(Array(arguments.dropFirst())))
case let first? where !first.hasPrefix("-"):
    printError("companion-bench: unknown subcommand \(first)\n" + BenchOptions.usage)
    CurrentProcess.exit(64)
default:
    CurrentProcess.exit(BenchRun.main(arguments))
}
