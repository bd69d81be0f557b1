/*
 * PdfBoxSign — the Java way to sign PDFs with a token, for kyso's benchmark (bench/pdf.sh):
 * Apache PDFBox 2 (Debian's libpdfbox2-java) writes the incremental update, Bouncy Castle
 * builds the CMS (PAdES: ETSI.CAdES.detached, signing-certificate-v2), and the JDK's
 * SunPKCS11 provider signs straight on the PKCS#11 module (SoftHSM), logged in once.
 *
 *   java -cp ... PdfBoxSign PKCS11.cfg PIN LABEL OUT_DIR IN.pdf...
 *
 * Prints "java-timings: login S, sign S (N documents)" on standard error: the time after
 * the JVM started, so that the benchmark can report it with and without the JVM's start.
 */
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.util.Calendar;
import java.util.Collections;

import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.PDSignature;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.SignatureInterface;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.SignatureOptions;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.ess.ESSCertIDv2;
import org.bouncycastle.asn1.ess.SigningCertificateV2;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

public class PdfBoxSign implements SignatureInterface {
	private final Provider p11;
	private final PrivateKey key;
	private final X509Certificate cert;

	PdfBoxSign(Provider p11, PrivateKey key, X509Certificate cert) {
		this.p11 = p11;
		this.key = key;
		this.cert = cert;
	}

	@Override
	public byte[] sign(InputStream content) throws IOException {
		try {
			byte[] data = content.readAllBytes();
			// signing-certificate-v2 (ESS), as PAdES baseline wants; no signing-time
			byte[] hash = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
			ASN1EncodableVector v = new ASN1EncodableVector();
			v.add(new Attribute(PKCSObjectIdentifiers.id_aa_signingCertificateV2,
			    new DERSet(new SigningCertificateV2(new ESSCertIDv2(hash)))));
			AttributeTable attrs = new AttributeTable(v);
			ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA")
			    .setProvider(p11).build(key);
			CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
			gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
			    new JcaDigestCalculatorProviderBuilder().build())
			    .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(attrs) {
				    @Override
				    protected java.util.Hashtable createStandardAttributeTable(
					java.util.Map parameters) {
					    java.util.Hashtable t = super.createStandardAttributeTable(parameters);
					    t.remove(PKCSObjectIdentifiers.pkcs_9_at_signingTime);
					    return t;
				    }
			    })
			    .build(signer, cert));
			gen.addCertificates(new JcaCertStore(Collections.singletonList(cert)));
			return gen.generate(new CMSProcessableByteArray(data), false).getEncoded();
		} catch (Exception e) {
			throw new IOException(e);
		}
	}

	public static void main(String[] args) throws Exception {
		long t0 = System.nanoTime();
		Provider p11 = Security.getProvider("SunPKCS11").configure(args[0]);
		Security.addProvider(p11);
		KeyStore ks = KeyStore.getInstance("PKCS11", p11);
		ks.load(null, args[1].toCharArray());
		PrivateKey key = (PrivateKey) ks.getKey(args[2], null);
		X509Certificate cert = (X509Certificate) ks.getCertificate(args[2]);
		if (key == null || cert == null)
			throw new IllegalStateException("no key and certificate labelled " + args[2]);
		PdfBoxSign s = new PdfBoxSign(p11, key, cert);
		long t1 = System.nanoTime();
		for (int i = 4; i < args.length; i++) {
			File in = new File(args[i]), dst = new File(args[3], in.getName());
			try (PDDocument doc = PDDocument.load(in);
			    FileOutputStream out = new FileOutputStream(dst)) {
				PDSignature sig = new PDSignature();
				sig.setFilter(PDSignature.FILTER_ADOBE_PPKLITE);
				sig.setSubFilter(COSName.getPDFName("ETSI.CAdES.detached"));
				sig.setName(cert.getSubjectX500Principal().getName());
				sig.setSignDate(Calendar.getInstance());
				SignatureOptions opts = new SignatureOptions();
				opts.setPreferredSignatureSize(16384);
				doc.addSignature(sig, s, opts);
				doc.saveIncremental(out);
				opts.close();
			}
			// on disk, as kyso leaves its files (saveIncremental closed the stream)
			try (FileChannel ch = FileChannel.open(dst.toPath(), StandardOpenOption.WRITE)) {
				ch.force(true);
			}
		}
		long t2 = System.nanoTime();
		System.err.printf("java-timings: login %.3f s, sign %.3f s (%d documents)%n",
		    (t1 - t0) / 1e9, (t2 - t1) / 1e9, args.length - 4);
	}
}
