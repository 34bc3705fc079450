// swift-tools-version:6.1
// Weft: a service mesh in Swift. See docs/architecture.md for how the targets fit.
import PackageDescription

// Every target runs in the Swift 6 language mode (strict concurrency checking).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "weft",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WeftProtocol", targets: ["WeftProtocol"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The admin APIs. Default traits off: they pull in swift-configuration, unused here.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // weftctl only: YAML documents for `apply -f` and `-o yaml`.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // MARK: C layers. Module maps only, plus one shim target for OpenSSL macros.
        .systemLibrary(
            name: "CNghttp2",
            path: "Shared/CNghttp2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Shared/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "COpenSSLShims",
            dependencies: ["COpenSSL"],
            path: "Shared/COpenSSLShims"
        ),
        .systemLibrary(
            name: "CLibPQ",
            path: "Shared/CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // MARK: Shared Swift modules. Each C module is imported by exactly one of these.
        .target(
            name: "WeftProtocol",
            path: "Shared/WeftProtocol",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeftTLS",
            dependencies: [
                "COpenSSL", "COpenSSLShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/WeftTLS",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeftHTTP2",
            dependencies: [
                "CNghttp2",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/WeftHTTP2",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeftPostgres",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/WeftPostgres",
            swiftSettings: swiftSettings
        ),

        // The data-plane core the sidecar and the gateway share: listeners and pipelines,
        // snapshots, routing, balancing, forwarding, telemetry. Lean on purpose: no
        // Hummingbird, no PostgreSQL, FoundationEssentials at most (through WeftProtocol).
        .target(
            name: "WeftProxy",
            dependencies: [
                "WeftHTTP2", "WeftIdentity", "WeftTLS", "WeftProtocol", "WeftService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/WeftProxy",
            swiftSettings: swiftSettings
        ),

        // A workload's mesh identity: certificate, key and bundle, from files or
        // from weft-ca (join token, renewal, bundle polling). Proxies and the
        // registry's mesh listener use it; it does not link the data plane.
        .target(
            name: "WeftIdentity",
            dependencies: [
                "WeftProtocol", "WeftService", "WeftTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/WeftIdentity",
            swiftSettings: swiftSettings
        ),

        // The flags and process loop the proxy executables share (sidecar, gateway).
        .target(
            name: "WeftProxyCommand",
            dependencies: [
                "WeftIdentity",
                "WeftProtocol", "WeftProxy", "WeftService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/WeftProxyCommand",
            swiftSettings: swiftSettings
        ),

        // How every service reads its flags and WEFT_* variables, and logs.
        .target(
            name: "WeftService",
            dependencies: [
                "WeftProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/WeftService",
            swiftSettings: swiftSettings
        ),

        // The HTTP plumbing every admin API shares (Hummingbird 2 under WeftTLS).
        .target(
            name: "WeftAPIServer",
            dependencies: [
                "WeftProtocol", "WeftTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/WeftAPIServer",
            swiftSettings: swiftSettings
        ),

        // MARK: Services. Each is a library (tested directly) plus a thin main.
        .target(
            name: "WeftEcho",
            dependencies: [
                "WeftHTTP2", "WeftProxy", "WeftTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Services/Echo/WeftEcho",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weft-echo",
            dependencies: [
                "WeftEcho", "WeftProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Echo/Main",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "WeftSidecar",
            dependencies: [
                "WeftIdentity",
                "WeftHTTP2", "WeftProtocol", "WeftProxy", "WeftService", "WeftTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Services/Sidecar/WeftSidecar",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weft-sidecar",
            dependencies: [
                "WeftProtocol", "WeftProxy", "WeftProxyCommand", "WeftService", "WeftSidecar",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Sidecar/Main",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "WeftGateway",
            dependencies: [
                "WeftIdentity",
                "WeftHTTP2", "WeftProtocol", "WeftProxy", "WeftTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Services/Gateway/WeftGateway",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weft-gateway",
            dependencies: [
                "WeftGateway", "WeftProtocol", "WeftProxy", "WeftProxyCommand", "WeftService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Gateway/Main",
            swiftSettings: swiftSettings
        ),

        // The services' OpenAPI documents live in docs/api/ and are compiled in
        // at build time, so each has one source and a binary needs no data files.
        .executableTarget(name: "weft-embed-text", path: "Tools/EmbedText"),
        .plugin(
            name: "EmbedOpenAPI", capability: .buildTool(), dependencies: ["weft-embed-text"],
            path: "Plugins/EmbedOpenAPI"),

        .target(
            name: "WeftRegistry",
            dependencies: [
                "WeftIdentity",
                "WeftAPIServer", "WeftProtocol", "WeftPostgres", "WeftService", "WeftTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Registry/WeftRegistry",
            swiftSettings: swiftSettings,
            plugins: ["EmbedOpenAPI"]
        ),
        .executableTarget(
            name: "weft-registry",
            dependencies: [
                "WeftIdentity", .product(name: "NIOPosix", package: "swift-nio"),
                "WeftAPIServer", "WeftRegistry", "WeftService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Registry/Main",
            swiftSettings: swiftSettings
        ),

        // weftctl: the operator's CLI, and `weftctl dev up` (a whole mesh on one machine).
        .target(
            name: "WeftCtl",
            dependencies: [
                "WeftIdentity",
                "WeftProtocol", "WeftService", "WeftTLS",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Services/Ctl/WeftCtl",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weftctl",
            dependencies: [
                "WeftCtl", "WeftService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Ctl/Main",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "WeftCA",
            dependencies: [
                "WeftAPIServer", "WeftPostgres", "WeftProtocol", "WeftService", "WeftTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/CA/WeftCA",
            swiftSettings: swiftSettings,
            plugins: ["EmbedOpenAPI"]
        ),

        .executableTarget(
            name: "weft-ca",
            dependencies: [
                "WeftAPIServer", "WeftCA", "WeftProtocol", "WeftService", "WeftTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/CA/Main",
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks (run through Benchmarks/*.sh on release builds).
        .executableTarget(
            name: "weft-protocol-bench",
            dependencies: ["WeftProtocol"],
            path: "Benchmarks/ProtocolBenchmarks",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "weft-proxy-bench",
            dependencies: ["WeftHTTP2", "WeftProtocol", "WeftProxy"],
            path: "Benchmarks/ProxyBenchmarks",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "weft-registry-bench",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/RegistryBenchmarks",
            // A load generator of callbacks on one event loop; Swift 5 mode keeps it short.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),

        .executableTarget(
            name: "weft-ca-bench",
            dependencies: [
                "WeftTLS",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/CABenchmarks",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),

        // MARK: Tests.
        // Test-only helpers (the throwaway PostgreSQL cluster); a plain library so every
        // test target can share it.
        .target(
            name: "WeftTestSupport",
            dependencies: [
                "WeftHTTP2", "WeftService", "WeftTLS",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftProtocolTests",
            dependencies: ["WeftProtocol"],
            path: "Tests/WeftProtocolTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftTLSTests",
            dependencies: [
                "WeftTLS", "WeftTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftTLSTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftHTTP2Tests",
            dependencies: [
                "WeftHTTP2", "WeftTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/WeftHTTP2Tests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftEchoTests",
            dependencies: [
                "WeftEcho", "WeftTLS", "WeftHTTP2", "WeftTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftEchoTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftProxyTests",
            dependencies: [
                "WeftEcho", "WeftHTTP2", "WeftProtocol", "WeftProxy", "WeftTLS", "WeftTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftProxyTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftSidecarTests",
            dependencies: [
                "WeftEcho", "WeftHTTP2", "WeftProtocol", "WeftProxy", "WeftSidecar", "WeftService", "WeftTLS",
                "WeftTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftSidecarTests",
            // The peers the tests start (a gRPC server and client, a TCP echo, an
            // application that breaks HTTP/2) are Python scripts run from the
            // source tree, not resources.
            exclude: ["Peers"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftGatewayTests",
            dependencies: ["WeftTestSupport"],
            path: "Tests/WeftGatewayTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftRegistryTests",
            dependencies: [
                "WeftRegistry", "WeftProtocol", "WeftPostgres", "WeftTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/WeftRegistryTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftCATests",
            dependencies: [
                "WeftCA", "WeftPostgres", "WeftProtocol", "WeftTLS", "WeftTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WeftCATests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftCtlTests",
            dependencies: ["WeftTestSupport"],
            path: "Tests/WeftCtlTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeftPostgresTests",
            dependencies: ["WeftPostgres", "WeftTestSupport"],
            path: "Tests/WeftPostgresTests",
            swiftSettings: swiftSettings
        ),
    ]
)

// libFuzzer targets (scripts/fuzz), declared only with WEFT_FUZZ=1 and built
// with -sanitize=fuzzer into a scratch path of their own, so ordinary builds
// and the image never see them. libFuzzer supplies `main`.
if Context.environment["WEFT_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "weft-fuzz-protocol",
            dependencies: ["FuzzSupport", "WeftProtocol"],
            path: "Fuzz/ProtocolFuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
    package.targets.append(
        .executableTarget(
            name: "weft-fuzz-http1",
            dependencies: [
                "FuzzSupport", "WeftHTTP2", "WeftProxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Fuzz/HTTP1Fuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
    package.targets.append(
        .executableTarget(
            name: "weft-fuzz-identity",
            dependencies: ["FuzzSupport", "WeftTLS"],
            path: "Fuzz/IdentityFuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
}
