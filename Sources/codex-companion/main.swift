import CompanionCore
import CompanionSystem

Signals.ignoreBrokenPipe()
let code = CompanionCLI.run(arguments: Array(CommandLine.arguments.dropFirst()), context: .live())
exit(code)
