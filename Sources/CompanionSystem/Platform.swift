#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// An error from a system call: what was attempted, on what, and errno.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var path: String?
    public var errno: Int32

    public init(_ operation: String, path: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// Builds an error from the calling thread's current errno.
    public static func current(_ operation: String, path: String? = nil) -> SystemError {
        SystemError(operation, path: path, errno: cc_errno())
    }

    public var reason: String {
        guard let text = strerror(errno) else { return "error \(errno)" }
        return String(cString: text)
    }

    public var description: String {
        if let path { return "\(operation) \(path): \(reason)" }
        return "\(operation): \(reason)"
    }
}

/// Calls `body` again while it fails with EINTR.
@inline(__always)
package func retryingOnInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result < 0 && cc_errno() == EINTR { continue }
        return result
    }
}
