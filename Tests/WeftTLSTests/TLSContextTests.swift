import Testing
import WeftTLS

@Suite struct TLSContextTests {
    @Test func clientsAlwaysVerifyTheServer() throws {
        #expect {
            try TLSContext(TLSConfiguration(role: .client, applicationProtocols: ["h2"]))
        } throws: { error in
            (error as? TLSError)?.context == "verifying peers needs at least one trust root"
        }
    }

    @Test func serversWithoutRootsDoNotAskForClientCertificatesButCannotRequireThem() throws {
        let pki = try MeshPKI()
        let workload = try pki.workload("api")
        _ = try TLSContext(
            TLSConfiguration(role: .server, certificateChain: [workload.certificate], privateKey: workload.key))
        #expect(throws: TLSError.self) {
            try TLSContext(
                TLSConfiguration(
                    role: .server, certificateChain: [workload.certificate], privateKey: workload.key,
                    requirePeerCertificate: true))
        }
    }

    @Test func serversNeedACertificateAndAMatchingKey() throws {
        let pki = try MeshPKI()
        let workload = try pki.workload("api")
        #expect(throws: TLSError.self) { try TLSContext(TLSConfiguration(role: .server)) }
        #expect {
            try TLSContext(
                TLSConfiguration(
                    role: .server, certificateChain: [workload.certificate], privateKey: try PrivateKey.generateP256()))
        } throws: { error in
            (error as? TLSError)?.context == "the private key does not match the certificate"
        }
        #expect(throws: TLSError.self) {
            try TLSContext(TLSConfiguration(role: .server, certificateChain: [workload.certificate]))
        }
    }

    @Test func protocolNamesMustFitALPN() throws {
        let pki = try MeshPKI()
        #expect(throws: TLSError.self) {
            try TLSContext(
                TLSConfiguration(
                    role: .client, trustRoots: [pki.root.certificate],
                    applicationProtocols: [String(repeating: "x", count: 256)]))
        }
    }
}
