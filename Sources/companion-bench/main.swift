import CompanionCore
import CompanionSystem

/// companion-bench: the benchmark command (see the README's Performance section) and
/// the store-writer used by the contention benchmark and the reliability tests.
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
    exit(StoreWriter.run(options(arguments.dropFirst())))
default:
    printError("usage: companion-bench store-writer --state-dir D --workspace W --job ID --updates N --tag T")
    exit(64)
}
