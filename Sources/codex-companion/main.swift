import CompanionSystem
import CompanionCLI

Signals.ignoreBrokenPipe()
let code = CompanionCLI.run(arguments: Array(CommandLine.arguments.dropFirst()), context: .live())
CurrentProcess.exit(code)
