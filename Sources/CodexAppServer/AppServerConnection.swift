import CompanionSystem
import CompanionJSON

/// What `AppServerConnection.nextEvent(until:)` reports.
package enum ConnectionEvent: Equatable {
    case message(RPCMessage)
    /// A line that was not a JSON-RPC message (or was over the size limit) was dropped;
    /// `count` is how many so far.
    case malformedLine(count: Int)
    /// The stop descriptor became readable; the byte read (a signal number), if any.
    case stopRequested(signal: Int32?)
    /// One line was longer than the framer's limit (64 MiB); the turn cannot go on.
    case oversizedLine(length: Int)
    /// The app-server's stdout reached EOF, or the process exited. Repeats once reached.
    case closed
    /// The deadline passed with nothing else to report.
    case deadline
}

/// One `codex app-server` child and a synchronous, single-threaded event loop over its
/// pipes: newline-delimited JSON on stdout, stderr drained into a bounded tail, stdin
/// written without blocking (POLLOUT only while output is queued, so a huge prompt and a
/// chatty server cannot deadlock), and an optional stop descriptor (a self-pipe).
///
/// The child leads its own process group; `shutdown()` ends the whole group and reaps
/// the child. SIGPIPE must be ignored (`Signals.ignoreBrokenPipe()`) before writing.
package final class AppServerConnection {
    package let pid: ProcessID
    /// Polled for readability; cleared after it fired once. Not owned (never closed here).
    package var stopFD: Int32?
    private(set) var stderrTail = StderrTail()
    private(set) var malformedCount = 0

    private var stdinFD: Int32?
    private var stdoutFD: Int32?
    private var stderrFD: Int32?
    private var outgoing: [[UInt8]] = []
    private var outgoingOffset = 0
    private var framer = LineFramer()
    private var queue: [ConnectionEvent] = []
    private var queueHead = 0
    private var nextRequestId: Int64 = 1
    private var isClosed = false
    private var reapedStatus: TerminationStatus?
    private var lastExitCheck = 0.0
    private var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)

    /// Spawns `executable arguments…` in `directory`, in a new process group, with all
    /// three standard streams piped. argv only, never a shell.
    /// - Throws: `SystemError` from the spawn (ENOENT when the executable is missing).
    package init(executable: String, arguments: [String], environment: [String: String]?, directory: String?)
        throws(SystemError)
    {
        let child = try Subprocess.spawn(
            SpawnRequest(
                executable: executable, arguments: arguments, environment: environment, directory: directory,
                grouping: .newGroup, stdin: .pipe, stdout: .pipe, stderr: .pipe))
        pid = child.pid
        stdinFD = child.stdin
        stdoutFD = child.stdout
        stderrFD = child.stderr
        for fd in [stdinFD, stdoutFD, stderrFD].compactMap({ $0 }) { Descriptor.setNonBlocking(fd) }
    }

    deinit {
        if reapedStatus == nil { _ = shutdown() }
    }

    // MARK: - Sending

    /// Queues a request and returns its id (1, 2, 3 …).
    @discardableResult
    package func sendRequest(_ method: String, params: JSONValue) -> RPCID {
        let id = RPCID.int(nextRequestId)
        nextRequestId += 1
        send(.request(id: id, method: method, params: params))
        return id
    }

    package func sendNotification(_ method: String, params: JSONValue = .object([:])) {
        send(.notification(method: method, params: params))
    }

    /// Queues a message and writes as much as the pipe takes right now.
    package func send(_ message: RPCMessage) {
        guard stdinFD != nil else { return }
        outgoing.append(RPCCodec.encode(message))
        flushOutgoing()
    }

    // MARK: - Receiving

    /// Runs the loop until something happens or `deadline` (MonotonicClock seconds) passes.
    package func nextEvent(until deadline: Double) -> ConnectionEvent {
        while true {
            if queueHead < queue.count {
                let event = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueHead = 0
                }
                return event
            }
            if isClosed { return .closed }
            let now = MonotonicClock.now()
            if now >= deadline { return .deadline }

            var interests: [Poller.Interest] = []
            if let fd = stdoutFD { interests.append(.init(fd: fd, events: .readable)) }
            if let fd = stderrFD { interests.append(.init(fd: fd, events: .readable)) }
            if let fd = stdinFD, !outgoing.isEmpty { interests.append(.init(fd: fd, events: .writable)) }
            if let fd = stopFD { interests.append(.init(fd: fd, events: .readable)) }
            let wait = Int32(min(max((deadline - now) * 1000, 0).rounded(.up), 250))
            guard let ready = Poller.wait(interests, timeoutMilliseconds: wait) else {
                sleepSeconds(0.01)
                continue
            }
            for entry in ready {
                if entry.fd == stdinFD {
                    flushOutgoing()
                } else if entry.fd == stdoutFD {
                    readStdout()
                } else if entry.fd == stderrFD {
                    readStderr()
                } else if entry.fd == stopFD {
                    readStop(entry.events)
                }
            }
            if queueHead == queue.count { checkForExit() }
        }
    }

    /// Everything the app-server wrote to stderr lately, cleaned, for error messages.
    package var stderrText: String { stderrTail.text }

    // MARK: - Shutdown

    /// Ends the child and its whole group, and reaps it: closes stdin (Codex exits on
    /// EOF), waits up to `graceSeconds`, sends SIGTERM to the group, waits up to
    /// `termSeconds`, then SIGKILL. The group gets a final SIGKILL even after a clean
    /// exit, so nothing the server started can outlive it (the unreaped leader keeps the
    /// group id from being reused until then). Idempotent.
    @discardableResult
    package func shutdown(graceSeconds: Double = 0.2, termSeconds: Double = 1.0) -> TerminationStatus {
        if let status = reapedStatus { return status }
        closeStdin()
        if !waitForExit(seconds: graceSeconds) {
            Signals.sendToGroup(pid, Signal.terminate)
            if !waitForExit(seconds: termSeconds) {
                Signals.sendToGroup(pid, Signal.kill)
            }
        }
        Signals.sendToGroup(pid, Signal.kill)
        let status = Subprocess.wait(pid)
        reapedStatus = status
        drainStderrNow()
        stderrTail.finish()
        for fd in [stdoutFD, stderrFD].compactMap({ $0 }) { Descriptor.close(fd) }
        stdoutFD = nil
        stderrFD = nil
        isClosed = true
        return status
    }

    /// Waits for the leader to exit while draining its output. True when it exited.
    package func waitForExit(seconds: Double) -> Bool {
        let deadline = MonotonicClock.now() + seconds
        while true {
            if hasLeaderExited() { return true }
            let left = deadline - MonotonicClock.now()
            if left <= 0 { return false }
            var interests: [Poller.Interest] = []
            if let fd = stdoutFD { interests.append(.init(fd: fd, events: .readable)) }
            if let fd = stderrFD { interests.append(.init(fd: fd, events: .readable)) }
            let wait = Int32(min(left * 1000, 20).rounded(.up))
            if interests.isEmpty {
                sleepSeconds(min(left, 0.01))
                continue
            }
            for entry in Poller.wait(interests, timeoutMilliseconds: wait) ?? [] {
                if entry.fd == stdoutFD { discardStdout() } else if entry.fd == stderrFD { readStderr() }
            }
        }
    }

    /// True once the child has exited (it stays a zombie until `shutdown` reaps it).
    package func hasLeaderExited() -> Bool {
        if reapedStatus != nil { return true }
        return ProcessProbe.hasExitedWithoutReaping(pid)
    }

    // MARK: - Internals

    private func flushOutgoing() {
        guard let fd = stdinFD else {
            outgoing.removeAll()
            return
        }
        while let first = outgoing.first {
            let result = first.withUnsafeBytes { raw in
                Descriptor.write(fd, from: UnsafeRawBufferPointer(rebasing: raw[outgoingOffset...]))
            }
            switch result {
            case .transferred(let count):
                outgoingOffset += count
                if outgoingOffset == first.count {
                    outgoing.removeFirst()
                    outgoingOffset = 0
                }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                // EPIPE or worse: the server no longer reads. Its exit shows up on stdout.
                closeStdin()
                return
            }
        }
    }

    private func closeStdin() {
        if let fd = stdinFD { Descriptor.close(fd) }
        stdinFD = nil
        outgoing.removeAll()
        outgoingOffset = 0
    }

    /// One read into the shared buffer.
    private func readChunk(_ fd: Int32) -> TransferResult {
        readBuffer.withUnsafeMutableBytes { raw in Descriptor.read(fd, into: raw) }
    }

    private func feedFramer(_ count: Int) {
        let outputs = readBuffer.withUnsafeBytes { raw in
            framer.feed(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
        }
        enqueue(outputs)
    }

    private func readStdout() {
        guard let fd = stdoutFD else { return }
        switch readChunk(fd) {
        case .transferred(let count): feedFramer(count)
        case .wouldBlock: return
        case .endOfFile, .failed: markClosed()
        }
    }

    /// Reads what is left on stdout without waiting, then reports the connection closed.
    private func markClosed() {
        guard !isClosed else { return }
        if let fd = stdoutFD {
            while case .transferred(let count) = readChunk(fd) { feedFramer(count) }
            Descriptor.close(fd)
            stdoutFD = nil
        }
        enqueue(framer.finish())
        drainStderrNow()
        closeStdin()
        isClosed = true
        queue.append(.closed)
    }

    private func enqueue(_ outputs: [LineFramer.Output]) {
        for output in outputs {
            switch output {
            case .line(let line):
                if let message = RPCCodec.decode(line) {
                    queue.append(.message(message))
                } else {
                    malformedCount += 1
                    queue.append(.malformedLine(count: malformedCount))
                }
            case .oversized(let length):
                queue.append(.oversizedLine(length: length))
            }
        }
    }

    private func discardStdout() {
        guard let fd = stdoutFD else { return }
        switch readChunk(fd) {
        case .transferred, .wouldBlock: return
        case .endOfFile, .failed:
            Descriptor.close(fd)
            stdoutFD = nil
        }
    }

    private func readStderr() {
        guard let fd = stderrFD else { return }
        switch readChunk(fd) {
        case .transferred(let count):
            readBuffer.withUnsafeBytes { raw in stderrTail.feed(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
        case .wouldBlock:
            return
        case .endOfFile, .failed:
            Descriptor.close(fd)
            stderrFD = nil
            stderrTail.finish()
        }
    }

    /// Takes whatever stderr holds right now (it may still be open in a grandchild).
    private func drainStderrNow() {
        for _ in 0..<64 {
            guard let fd = stderrFD else { return }
            guard let ready = Poller.wait([.init(fd: fd, events: .readable)], timeoutMilliseconds: 0), !ready.isEmpty
            else { return }
            readStderr()
        }
    }

    private func readStop(_ events: PollEvents) {
        guard let fd = stopFD else { return }
        stopFD = nil
        // A descriptor the caller closed is not a request to stop; stop watching it.
        if events.contains(.invalid) { return }
        var bytes = [UInt8](repeating: 0, count: 16)
        var signal: Int32?
        if events.contains(.readable) {
            let result = bytes.withUnsafeMutableBytes { raw in Descriptor.read(fd, into: raw) }
            if case .transferred(let count) = result { signal = Int32(bytes[count - 1]) }
        }
        queue.append(.stopRequested(signal: signal))
    }

    /// The leader may exit while a grandchild keeps stdout open; notice it anyway.
    private func checkForExit() {
        guard !isClosed else { return }
        let now = MonotonicClock.now()
        guard now - lastExitCheck >= 0.2 else { return }
        lastExitCheck = now
        if hasLeaderExited() { markClosed() }
    }
}
