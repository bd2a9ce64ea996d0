#!/usr/bin/env python3
"""Builds site/static/acme-icons.woff2, the tiny icon web font of the test site.

Drawn from scratch (no third-party glyphs, so no licence questions): four icons on Private Use
Area code points, like a typical icon font. The output is committed; re-run only to change it:

    pip install fonttools brotli && python3 site/make-icon-font.py
"""
import os
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

UPM = 1000


def poly(pen, pts):
    pen.moveTo(pts[0])
    for p in pts[1:]:
        pen.lineTo(p)
    pen.closePath()


def rect(pen, x0, y0, x1, y1):
    poly(pen, [(x0, y0), (x0, y1), (x1, y1), (x1, y0)])


def glyph(draw):
    pen = TTGlyphPen(None)
    draw(pen)
    return pen.glyph()


def notdef(p):
    rect(p, 100, 0, 600, 700)


def home(p):  # house: roof triangle + body
    poly(p, [(50, 450), (500, 850), (950, 450)])
    rect(p, 180, 0, 820, 450)


def grid(p):  # 2x2 squares ("app")
    for x in (100, 550):
        for y in (50, 500):
            rect(p, x, y, x + 350, y + 350)


def plug(p):  # integrations: two prongs and a body
    rect(p, 300, 550, 400, 850)
    rect(p, 600, 550, 700, 850)
    rect(p, 200, 250, 800, 550)
    rect(p, 450, 0, 550, 250)


def lock(p):  # sign in: shackle + body
    rect(p, 250, 450, 350, 800)
    rect(p, 650, 450, 750, 800)
    rect(p, 250, 750, 750, 850)
    rect(p, 150, 0, 850, 450)


names = ['.notdef', 'space', 'home', 'grid', 'plug', 'lock']
glyphs = {
    '.notdef': glyph(notdef),
    'space': TTGlyphPen(None).glyph(),
    'home': glyph(home),
    'grid': glyph(grid),
    'plug': glyph(plug),
    'lock': glyph(lock),
}
cmap = {0x20: 'space', 0xE001: 'home', 0xE002: 'grid', 0xE003: 'plug', 0xE004: 'lock'}

fb = FontBuilder(UPM, isTTF=True)
fb.setupGlyphOrder(names)
fb.setupCharacterMap(cmap)
fb.setupGlyf(glyphs)
fb.setupHorizontalMetrics({n: (1000 if n != 'space' else 300, 0) for n in names})
fb.setupHorizontalHeader(ascent=900, descent=-100)
fb.setupNameTable({'familyName': 'Acme Icons', 'styleName': 'Regular', 'uniqueFontIdentifier': 'AcmeIcons-Regular-1.0',
                   'fullName': 'Acme Icons Regular', 'psName': 'AcmeIcons-Regular', 'version': 'Version 1.000',
                   'copyright': 'Drawn for the hark test site; public domain (CC0)'})
fb.setupOS2(sTypoAscender=900, sTypoDescender=-100, usWinAscent=900, usWinDescent=100)
fb.setupPost()
fb.font.flavor = 'woff2'
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static', 'acme-icons.woff2')
fb.save(out)
print(out, os.path.getsize(out), 'bytes')
