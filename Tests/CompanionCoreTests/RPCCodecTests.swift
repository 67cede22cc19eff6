import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
@testable import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

@Suite struct RPCLineFramerTests {
    @Test func splitsALineAcrossChunks() {
        var framer = LineFramer()
        #expect(framer.feed(Array(#"{"id":1,"res"#.utf8)).isEmpty)
        #expect(framer.hasPartialLine)
        #expect(framer.feed(Array(#"ult":{}}"#.utf8)).isEmpty)
        #expect(framer.feed([0x0A]) == [.line(Array(#"{"id":1,"result":{}}"#.utf8))])
        #expect(!framer.hasPartialLine)
    }

    @Test func feedingOneByteAtATimeGivesTheSameLines() {
        let text = "{\"a\":1}\n{\"b\":2}\r\n\n   \n{\"c\":3}\n"
        var framer = LineFramer()
        var lines: [String] = []
        for byte in Array(text.utf8) {
            for case .line(let line) in framer.feed([byte]) { lines.append(String(decoding: line, as: UTF8.self)) }
        }
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
    }

    @Test func severalMessagesInOneChunkAndBlankLinesSkipped() {
        var framer = LineFramer()
        let outputs = framer.feed(Array("one\n\ntwo\n \t\nthree\npartial".utf8))
        #expect(outputs == [.line(Array("one".utf8)), .line(Array("two".utf8)), .line(Array("three".utf8))])
        #expect(framer.finish() == [.line(Array("partial".utf8))])
        #expect(framer.finish().isEmpty)
    }

    @Test func anOversizedLineIsDroppedAndTheNextOneSurvives() {
        var framer = LineFramer(maximumLineLength: 10)
        #expect(framer.feed(Array("0123456".utf8)).isEmpty)
        #expect(framer.feed(Array("789abcdef".utf8)).isEmpty)
        let outputs = framer.feed(Array("ghij\nok\n".utf8))
        #expect(outputs == [.oversized(20), .line(Array("ok".utf8))])
        // Exactly at the limit is fine.
        #expect(framer.feed(Array("0123456789\n".utf8)) == [.line(Array("0123456789".utf8))])
    }
}

@Suite struct RPCCodecTests {
    @Test func classifiesTheFourKinds() {
        #expect(
            RPCCodec.decode(#"{"id":3,"method":"item/fileChange/requestApproval","params":{"itemId":"x"}}"#)
                == .request(id: .int(3), method: "item/fileChange/requestApproval", params: ["itemId": "x"]))
        #expect(
            RPCCodec.decode(#"{"method":"turn/started","params":{"threadId":"t"},"emittedAtMs":1795313967767}"#)
                == .notification(method: "turn/started", params: ["threadId": "t"]))
        #expect(RPCCodec.decode(#"{"id":1,"result":{}}"#) == .response(id: .int(1), result: [:]))
        #expect(RPCCodec.decode(#"{"id":"abc","result":null}"#) == .response(id: .string("abc"), result: .null))
        #expect(
            RPCCodec.decode(#"{"id":2,"error":{"code":-32600,"message":"Not initialized"}}"#)
                == .errorResponse(id: .int(2), error: RPCErrorObject(code: -32600, message: "Not initialized")))
        #expect(RPCCodec.decode(#"{"method":"initialized"}"#) == .notification(method: "initialized", params: .null))
    }

    @Test func rejectsMalformedLines() {
        for line in ["not json", #"{"id":1,"#, "[1,2,3]", #"{"method":42}"#, #"{"result":{}}"#, "42", #""text""#, "{}"]
        {
            #expect(RPCCodec.decode(line) == nil, "\(line)")
        }
    }

    @Test func encodesOneLineWithoutAJsonrpcMember() throws {
        let prompt = "line one\nline two \"quoted\" ünïcødé"
        let bytes = RPCCodec.encode(.request(id: .int(7), method: "turn/start", params: ["text": .string(prompt)]))
        #expect(bytes.last == 0x0A)
        #expect(bytes.dropLast().contains(0x0A) == false)
        let decoded = try #require(RPCCodec.decode(Array(bytes.dropLast())))
        #expect(decoded == .request(id: .int(7), method: "turn/start", params: ["text": .string(prompt)]))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("jsonrpc"))
    }

    @Test func encodesErrorAnswers() throws {
        let bytes = RPCCodec.encode(
            .errorResponse(id: .int(0), error: RPCErrorObject(code: -32601, message: "Unsupported server request: x")))
        let value = try JSONCoding.decode(JSONValue.self, from: Array(bytes.dropLast()))
        #expect(value == ["id": 0, "error": ["code": -32601, "message": "Unsupported server request: x"]])
    }
}

@Suite struct RPCPolicyAndTextTests {
    @Test func approvalsAreDeclinedAndEverythingElseIsRejected() {
        #expect(
            ServerRequestPolicy.answer(method: "item/commandExecution/requestApproval")
                == .result(["decision": "decline"]))
        #expect(
            ServerRequestPolicy.answer(method: "item/fileChange/requestApproval") == .result(["decision": "decline"]))
        #expect(ServerRequestPolicy.answer(method: "execCommandApproval") == .result(["decision": "denied"]))
        #expect(
            ServerRequestPolicy.answer(method: "item/tool/requestUserInput")
                == .error(
                    RPCErrorObject(code: -32601, message: "Unsupported server request: item/tool/requestUserInput")))
    }

    @Test func stderrTailDropsThePathWarningAndColours() {
        var tail = StderrTail(limit: 64)
        tail.feed(Array("\u{1B}[2m2026\u{1B}[0m \u{1B}[31mERROR\u{1B}[0m boom\r\n".utf8))
        tail.feed(Array("WARNING: proceeding, even though we could not update PATH: denied\n".utf8))
        tail.feed(Array("partial".utf8))
        #expect(tail.text == "2026 ERROR boom\npartial")
        for index in 0..<20 { tail.feed(Array("line \(index)\n".utf8)) }
        #expect(tail.text.utf8.count <= 64 + 16)
        #expect(tail.text.hasSuffix("line 19"))
        #expect(!tail.text.contains("line 0\n"))
    }

    @Test func commandDisplayAndPhase() {
        #expect(ProgressText.displayCommand("/bin/bash -lc ls") == "ls")
        #expect(ProgressText.displayCommand(#"/bin/bash -lc "npm test""#) == "npm test")
        #expect(ProgressText.displayCommand("/bin/zsh -c 'swift build -c release'") == "swift build -c release")
        #expect(ProgressText.displayCommand("git status") == "git status")
        #expect(ProgressText.commandPhase("npm run test:unit") == "verifying")
        #expect(ProgressText.commandPhase("swift build") == "verifying")
        #expect(ProgressText.commandPhase("pytest -q tests/") == "verifying")
        #expect(ProgressText.commandPhase("ls -la") == "running")
        #expect(ProgressText.commandPhase("cat testdata.txt") == "running")
    }

    @Test func textHelpers() {
        #expect(ProgressText.collapseWhitespace("  a \n\t b  ") == "a b")
        #expect(ProgressText.preview(String(repeating: "x", count: 300), limit: 10) == "xxxxxxxxx…")
        #expect(ProgressText.seconds(1800) == "1800")
        #expect(ProgressText.seconds(1.5) == "1.5")
        #expect(TurnRunner.shouldReportMalformed(count: 1))
        #expect(!TurnRunner.shouldReportMalformed(count: 2))
        #expect(TurnRunner.shouldReportMalformed(count: 200))
    }

    @Test func modelMapping() {
        #expect(TurnRunner.mapModel("spark") == "gpt-5.3-codex-spark")
        #expect(TurnRunner.mapModel(" Spark ") == "gpt-5.3-codex-spark")
        #expect(TurnRunner.mapModel("gpt-5.5") == "gpt-5.5")
        #expect(TurnRunner.mapModel("") == nil)
        #expect(TurnRunner.mapModel(nil) == nil)
    }

    @Test func requestParameters() {
        var request = TurnRequest(codexExecutable: "/x/codex", cwd: "/w", prompt: "Do it", clientVersion: "1.2.3")
        #expect(
            TurnRunner.threadStartParams(request) == [
                "cwd": "/w", "model": nil, "approvalPolicy": "never", "sandbox": "read-only",
                "serviceName": "codex_companion", "ephemeral": false,
            ])
        request.write = true
        request.model = "spark"
        request.effort = "high"
        #expect(
            TurnRunner.threadResumeParams(request, threadId: "thr") == [
                "threadId": "thr", "cwd": "/w", "model": "gpt-5.3-codex-spark", "approvalPolicy": "never",
                "sandbox": "workspace-write",
            ])
        #expect(
            TurnRunner.turnStartParams(request, threadId: "thr") == [
                "threadId": "thr", "input": [["type": "text", "text": "Do it", "text_elements": []]],
                "model": "gpt-5.3-codex-spark", "effort": "high",
            ])
        let initialize = TurnRunner.initializeParams(clientVersion: "1.2.3")
        #expect(initialize["clientInfo"] == ["name": "Claude Code", "title": "Codex Companion", "version": "1.2.3"])
        #expect(initialize["capabilities"]?["experimentalApi"] == false)
        #expect(initialize["capabilities"]?["optOutNotificationMethods"]?.arrayValue?.count == 6)
    }

    @Test func unexpectedExitMessageCarriesTheStderrTail() {
        let message = TurnRunner.unexpectedExitMessage(status: .exited(1), exited: true, stderr: "a\nb\n")
        #expect(message == "codex app-server exited unexpectedly (exit 1): a\nb")
        #expect(
            TurnRunner.unexpectedExitMessage(status: .signalled(9), exited: true, stderr: "")
                == "codex app-server exited unexpectedly (signal 9)")
    }
}

@Suite struct RPCAccountStatusTests {
    @Test func decisionTable() {
        let chatgpt = AccountStatus.evaluate(
            account: [
                "account": ["type": "chatgpt", "email": "me@example.com", "planType": "pro"],
                "requiresOpenaiAuth": true,
            ],
            config: nil)
        #expect(chatgpt.loggedIn)
        #expect(chatgpt.detail.contains("me@example.com"))

        #expect(
            AccountStatus.evaluate(account: ["account": ["type": "apiKey"], "requiresOpenaiAuth": true], config: nil)
                .loggedIn)

        let custom = AccountStatus.evaluate(
            account: ["account": nil, "requiresOpenaiAuth": false],
            config: ["config": ["model_provider": "mock", "model_providers": ["mock": ["name": "Mock Responses API"]]]])
        #expect(
            custom
                == AccountStatus(
                    loggedIn: true,
                    detail: "Mock Responses API is configured and does not require OpenAI authentication.",
                    provider: "Mock Responses API"))

        let idOnly = AccountStatus.evaluate(
            account: ["account": nil, "requiresOpenaiAuth": false], config: ["config": ["model_provider": "ollama"]])
        #expect(idOnly.provider == "ollama")

        let loggedOut = AccountStatus.evaluate(
            account: ["account": nil, "requiresOpenaiAuth": true], config: ["config": ["model_provider": nil]])
        #expect(!loggedOut.loggedIn)
        #expect(loggedOut.provider == nil)
        #expect(!AccountStatus.evaluate(account: [:], config: nil).loggedIn)
    }
}

@Suite struct RPCJSONWireTests {
    func parse(_ text: String) -> JSONValue? { JSONWire.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() {
        #expect(
            parse(#" {"a": [1, -2, 3.5, 1e3, -0.25E-2, true, false, null, "s"], "b": {}} "#) == [
                "a": [1, -2, .double(3.5), .double(1000), .double(-0.0025), true, false, nil, "s"], "b": [:],
            ])
        #expect(parse("9223372036854775807") == .int(Int64.max))
        #expect(parse("92233720368547758070") == .double(9.2233720368547758e19))
        #expect(parse("[]") == [])
    }

    @Test func decodesEscapes() {
        #expect(parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{08}\u{0C}"))
        #expect(parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(parse(#""lone \ud83d surrogate""#) == .string("lone \u{FFFD} surrogate"))
        #expect(parse("\"ünïcødé raw\"") == .string("ünïcødé raw"))
    }

    @Test func rejectsInvalidText() {
        for text in [
            "", "tru", "nul", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", "-", "1e", "\"open",
            "\"bad \\x escape\"", "\"raw \n newline\"", "[1] [2]", "{\"a\":1}}", "'single'", "NaN",
        ] {
            #expect(parse(text) == Optional<JSONValue>.none, "input: \(text)")
        }
        #expect(
            parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) == Optional<JSONValue>.none)
        #expect(
            parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) != Optional<JSONValue>.none)
    }

    @Test func serializesCompactSortedAndRoundTrips() {
        let value: JSONValue = ["b": [1, .double(2.5), nil, true], "a": "x\"y\\z\n\u{01}é😀"]
        let text = String(decoding: JSONWire.serialize(value), as: UTF8.self)
        #expect(text == #"{"a":"x\"y\\z\n\u0001é😀","b":[1,2.5,null,true]}"#)
        #expect(JSONWire.parse(JSONWire.serialize(value)) == value)
        // Agrees with the project's Codable decoding.
        #expect((try? JSONCoding.decode(JSONValue.self, from: JSONWire.serialize(value))) == value)
    }
}
