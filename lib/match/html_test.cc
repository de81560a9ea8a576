#include "match/html.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::match {
namespace {

std::string Nocomment(std::string_view in) {
  NormalizedHtml out;
  NormalizeHtml(in, &out);
  return out.nocomment;
}

std::string Notags(std::string_view in) {
  NormalizedHtml out;
  NormalizeHtml(in, &out);
  return out.notags;
}

// Every expected string below is what clamscan 1.4.6 wrote to nocomment.html
// (notags.html) for the same input (clamscan --leave-temps).
TEST(HtmlNormalize, CaseAndWhiteSpace) {
  EXPECT_EQ(Nocomment("<html>  abc  def  "), "<html>abc def");
  EXPECT_EQ(Nocomment("<html>\n\nabc\n\ndef\n"), "<html>abc def");
  EXPECT_EQ(Nocomment("<html>A<B>C</B>D"), "<html>a<b>c</b>d");
  EXPECT_EQ(Nocomment("<html>a <b>c</b> d"), "<html>a <b>c</b>d");
  EXPECT_EQ(Nocomment("<html>a\tb\rc"), "<html>a bc");
  EXPECT_EQ(Nocomment("<html>\v\fa"), "<html>a");
  EXPECT_EQ(Nocomment("<html>x < y > z"), "<html>x <y>z");
}

TEST(HtmlNormalize, Attributes) {
  EXPECT_EQ(Nocomment("<html><b x=1 y='2' z=\"3\" w>t</b>"), "<html><b x=1 y=\"2\" z=\"3\" w>t</b>");
  EXPECT_EQ(Nocomment("<html><b X = 'A B' >t"), "<html><b x=\"a b\">t");
  EXPECT_EQ(Nocomment("<html><b a=\"1\"b=\"2\">t"), "<html><b a=\"1\" b=\"2\">t");
  EXPECT_EQ(Nocomment("<html><b a=>t"), "<html><b a=>t");
  EXPECT_EQ(Nocomment("<html><br/>t<br />u"), "<html><br/>t<br />u");
  EXPECT_EQ(Nocomment("<html><b a=\"1\"/>"), "<html><b a=\"1\" />");
  EXPECT_EQ(Nocomment("<html><b a=\"x y\"/>t"), "<html><b a=\"x y\"/>t");
  EXPECT_EQ(Nocomment("<html><b attr=\"x&amp;y\">t"), "<html><b attr=\"x&y\">t");
  EXPECT_EQ(Nocomment("<html><b a=\"x\n\ny\" c='p\tq'>t"), "<html><b a=\"x y\" c=\"p\tq\">t");
  // A quoted value of three words or more: references stay, and so does a
  // closing single quote.
  EXPECT_EQ(Nocomment("<html><b a='x y z&amp;'>x"), "<html><b a=\"x y z&amp;'>x");
  EXPECT_EQ(Nocomment("<html><b a=\"x y z&amp;\">x"), "<html><b a=\"x y z&amp;\">x");
  EXPECT_EQ(Nocomment("<html><b a=\"x"), "<html><b a=\"x");
  EXPECT_EQ(Nocomment("<html><img src=\"data:image/png;base64,AAAA\" alt=Z>"), "<html><img src=\"data\"alt=z>");
}

TEST(HtmlNormalize, CommentsAndReferences) {
  EXPECT_EQ(Nocomment("<html>a<!-- c -->b"), "<html>ab");
  EXPECT_EQ(Nocomment("<html><!-- a > b -->c"), "<html>b -->c");  // ends at the first '>'
  EXPECT_EQ(Nocomment("<html>payload \t <!----><br>"), "<html>payload <br>");
  EXPECT_EQ(Nocomment("<html>&amp;&lt;&gt;&quot;&nbsp;&copy;&#x41;&#66;&bogus;x"),
            "<html>&<>\"\xa0\xa9" "ab&bogus;x");
  EXPECT_EQ(Nocomment("<html>&#1234;&#x263a;&#65536;"), "<html>&#x04d2;&#x263a;");
  EXPECT_EQ(Nocomment("<html>&AMP;&amp&ampx &lt3"), "<html>&amp;&amp&ampx &lt3");
  EXPECT_EQ(Nocomment("<html>&nbsp;&NBSP;&Eacute;&euro;"), "<html>\xa0&nbsp;\xc9&#x20ac;");
}

TEST(HtmlNormalize, ScriptsAndStyles) {
  EXPECT_EQ(Nocomment("<html><SCRIPT language=\"JavaScript\">document.write( \"Hi  There\" );</SCRIPT>"),
            "<html><script language=\"javascript\">document.write(\"hithere\");</script>");
  EXPECT_EQ(Nocomment("<html><script>var s = 'a  b';</script>"), "<html><script>vars=\"ab\";</script>");
  EXPECT_EQ(Nocomment("<html><script>if (a<b) x = \"A  B\";</SCRIPT>z"),
            "<html><script>if(a<b)x=\"ab\";</script>z");
  EXPECT_EQ(Nocomment("<html><style>a { color : 'red' }</style>"), "<html><style>a{color:\"red\"}</style>");
  EXPECT_EQ(Nocomment("<html><scriptx>a b</scriptx>"), "<html><scriptx>a b</scriptx>");
}

TEST(HtmlNormalize, Notags) {
  EXPECT_EQ(Notags("<html>A<B>C</B>D"), " a c d");
  EXPECT_EQ(Notags("<html>  abc  def  "), " abc def ");
  EXPECT_EQ(Notags("abc<html>def"), "abc def");
  EXPECT_EQ(Notags("<html><a HREF=\"http://X.com/\">Y</a>"), " http://X.com/ y ");
  EXPECT_EQ(Notags("<html><img src=\"I.png\" alt=\"x\"><iframe src=\"F\"></iframe>"), " I.png ");
  EXPECT_EQ(Notags("<html><script>a b</script> d  e"), " d e");
}

// clamscan reads 8191-byte chunks cut after their last white space; white
// space at the start of a chunk is lost.
TEST(HtmlNormalize, ReadChunks) {
  auto doc = [](size_t space_at, std::string ws) {
    std::string s = "<html>" + std::string(space_at - 6, 'a') + ws;
    s.resize(9000, 'b');
    return s;
  };
  EXPECT_NE(Nocomment(doc(5000, " ")).find("a b"), std::string::npos);
  EXPECT_NE(Nocomment(doc(8190, " ")).find("a b"), std::string::npos);
  EXPECT_NE(Nocomment(doc(8191, " ")).find("ab"), std::string::npos);
  EXPECT_NE(Nocomment(doc(8191, "\n\n c")).find("acb"), std::string::npos);
  EXPECT_NE(Nocomment(doc(8189, "  ")).find("a b"), std::string::npos);
}

TEST(HtmlMarker, TagsOfTheFileTypeTable) {
  EXPECT_TRUE(ContainsHtmlMarker("some text <html> more"));
  EXPECT_TRUE(ContainsHtmlMarker("x <Script src=y>"));
  EXPECT_TRUE(ContainsHtmlMarker("<a name=x> then later HrEF"));
  EXPECT_TRUE(ContainsHtmlMarker("<%@ LANGUAGE = VBScript %>"));
  EXPECT_FALSE(ContainsHtmlMarker("<p>no tag from the table</p>"));
  EXPECT_FALSE(ContainsHtmlMarker("<HtMl>"));
  EXPECT_FALSE(ContainsHtmlMarker("<a name=x> no link"));
  EXPECT_FALSE(ContainsHtmlMarker("href before <a x>"));
}

}  // namespace
}  // namespace vigil::match
