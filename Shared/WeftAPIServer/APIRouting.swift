public import HTTPTypes
public import Hummingbird
public import Logging
public import WeftProtocol

/// The paths one admin API knows, resolved from a request's path segments.
/// Each service lists its routes as an enum; routing, 404, 405 with `Allow`,
/// and the metrics label are the same for every service (`APIResponder`).
public protocol APIRoute: Sendable {
    init(_ segments: [String])
    /// The path template (`/v1/services/{namespace}/{name}`), for the 405
    /// message and the metrics label; nil for a path the API does not know.
    var template: String? { get }
    /// The methods the route accepts (the `Allow` header of a 405).
    var methods: [HTTPRequest.Method] { get }
}

/// A service's own error, answered as a problem document.
public protocol APIProblem: Error, CustomStringConvertible {
    var problem: Problem { get }
    /// Headers beside the problem: `WWW-Authenticate`, `Retry-After`.
    var problemHeaders: HTTPFields { get }
}

/// The one place an admin API turns a request into a route and whatever a
/// handler throws into an answer, so the registry and the CA refuse alike:
/// unknown paths 404, other methods 405 with `Allow`, a service's own errors as
/// their problems, WeftProtocol's validation errors 400 with the field,
/// `APIRefusal`s as they say, shutdown 503 with `Retry-After`, and anything
/// else a generic 500 whose cause goes to the log only.
public struct APIResponder<Route: APIRoute>: Sendable {
    /// The service's name in messages ("registry", "CA").
    public let service: String
    public let metrics: RequestMetrics
    public let logger: Logger

    public init(service: String, metrics: RequestMetrics, logger: Logger) {
        self.service = service
        self.metrics = metrics
        self.logger = logger
    }

    /// Resolves `request`'s route, refuses unknown paths and methods, runs
    /// `handle`, answers what it throws, and records the call's metrics.
    public func respond(to request: Request, handle: (Route) async throws -> Response) async -> Response {
        let started = ContinuousClock.now
        let route = Route(request.pathSegments)
        var response: Response
        do {
            guard let template = route.template else {
                throw APIRefusal.notFound("no such path: \(request.uri.path.prefix(200))")
            }
            guard route.methods.contains(request.method) else {
                throw APIRefusal.methodNotAllowed(template, allowed: route.methods)
            }
            response = try await handle(route)
        } catch {
            response = answer(error, route: route.template ?? request.uri.path)
        }
        metrics.record(
            route: route.template ?? "unknown", method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - started)
        return response
    }

    /// The answer for an error a handler threw.
    public func answer(_ error: any Error, route: String) -> Response {
        switch error {
        case let error as any APIProblem:
            if error.problem.status >= 500 {
                // The cause (a database's address, a driver's message) goes to
                // the log only; the answer carries the generic message.
                logger.warning("call failed", metadata: ["route": "\(route)", "error": "\(error)"])
            }
            return APIResponse.problem(error.problem, extraHeaders: error.problemHeaders)
        case let error as ProtocolError:
            return APIResponse.problem(Problem(invalid: error))
        case let refusal as APIRefusal:
            return APIResponse.refusal(refusal)
        case is CancellationError:
            return APIResponse.refusal(.shuttingDown(service))
        default:
            logger.error("unexpected failure", metadata: ["route": "\(route)", "error": "\(error)"])
            return APIResponse.internalError(service)
        }
    }
}

extension APIRefusal {
    /// 503 while the service drains at shutdown; a retry reaches another replica.
    public static func shuttingDown(_ service: String) -> APIRefusal {
        APIRefusal(
            status: 503, slug: "shutting-down", title: "The service is shutting down",
            detail: "the \(service) is shutting down; try again", headers: [.retryAfter: "2"])
    }
}
